using Xunit;
using Ember.Vmm.Boot;

namespace Ember.Vmm.Tests.Boot;

public class BzImageTests
{
    [Fact]
    public void ParsesTheHeaderFields()
    {
        var builder = new BzImageBuilder { InitSize = 0x123000, CmdlineSize = 4095 };

        var image = BzImage.Parse(builder.Build());

        Assert.Equal((ushort)0x020F, image.ProtocolVersion);
        Assert.Equal(4, image.SetupSectors);
        Assert.Equal(5 * 512, image.SetupSize);
        Assert.Equal((uint)(builder.KernelLength / 16), image.SysSize);
        Assert.True(image.Supports64BitEntry);
        Assert.True(image.Relocatable);
        Assert.Equal(0x20_0000U, image.KernelAlignment);
        Assert.Equal(4095U, image.CommandLineSize);
        Assert.Equal(0x7FFF_FFFFU, image.InitrdAddressMax);
        Assert.Equal(0x100_0000UL, image.PreferredAddress);
        Assert.Equal(0x123000U, image.InitSize);
        Assert.Equal(0x100U, image.PayloadOffset);
        Assert.Equal(0x1000U, image.PayloadLength);
        Assert.Equal(0x26C, image.SetupHeaderEnd);
        Assert.Equal(builder.ProtectedModeKernel(), image.ProtectedModeKernel.ToArray());
    }

    [Fact]
    public void ZeroSetupSectorsMeansFour()
    {
        var builder = new BzImageBuilder { SetupSects = 0 };

        var image = BzImage.Parse(builder.Build());

        Assert.Equal(4, image.SetupSectors);
        Assert.Equal(builder.ProtectedModeKernel(), image.ProtectedModeKernel.ToArray());
    }

    [Fact]
    public void FieldsNewerThanTheProtocolAreIgnored()
    {
        // 2.06: no payload (2.08), pref_address/init_size (2.10) or xloadflags (2.12).
        var image = BzImage.Parse(new BzImageBuilder { Version = 0x0206, PayloadOffset = 0xFFFF_FFF0 }.Build());

        Assert.Equal(0U, image.PayloadOffset);
        Assert.Equal(0U, image.InitSize);
        Assert.Equal(Layout.KernelLoadAddress, image.PreferredAddress);
        Assert.False(image.Supports64BitEntry);
    }

    [Fact]
    public void BadMagicIsRejected()
    {
        var bytes = new BzImageBuilder().Build();
        bytes[0x202] = (byte)'X';

        var ex = Assert.Throws<BootImageException>(() => BzImage.Parse(bytes));
        Assert.Contains("HdrS", ex.Message);
    }

    [Fact]
    public void ProtocolOlderThan206IsRejectedWithTheVersionInTheMessage()
    {
        var ex = Assert.Throws<BootImageException>(() => BzImage.Parse(new BzImageBuilder { Version = 0x0205 }.Build()));

        Assert.Contains("2.05", ex.Message);
        Assert.Contains("2.06", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void FileEndingInsideTheSetupIsTruncated()
    {
        var bytes = new BzImageBuilder().Build()[..(3 * 512)];

        var ex = Assert.Throws<BootImageException>(() => BzImage.Parse(bytes));
        Assert.Contains("truncated", ex.Message);
    }

    [Fact]
    public void SysSizeLargerThanTheFileIsTruncated()
    {
        var builder = new BzImageBuilder { SysSize = 8192 / 16 + 1 };

        var ex = Assert.Throws<BootImageException>(() => BzImage.Parse(builder.Build()));
        Assert.Contains("syssize", ex.Message);
    }

    [Fact]
    public void TinyFilesAreTruncated()
    {
        Assert.Throws<BootImageException>(() => BzImage.Parse(new byte[100]));
        Assert.Throws<BootImageException>(() => BzImage.Parse(ReadOnlyMemory<byte>.Empty));
    }

    [Fact]
    public void ZImageWithoutLoadedHighIsRejected()
    {
        var ex = Assert.Throws<BootImageException>(() => BzImage.Parse(new BzImageBuilder { LoadFlags = 0 }.Build()));

        Assert.Contains("LOADED_HIGH", ex.Message);
    }

    [Fact]
    public void MissingBootFlagIsRejected()
    {
        var bytes = new BzImageBuilder().Build();
        bytes[0x1FE] = 0;

        Assert.Throws<BootImageException>(() => BzImage.Parse(bytes));
    }

    [Fact]
    public void PayloadOutsideTheKernelIsRejected()
    {
        Assert.Throws<BootImageException>(() => BzImage.Parse(new BzImageBuilder { PayloadOffset = 8000, PayloadLength = 1000 }.Build()));
    }

    [Fact]
    public void NonPowerOfTwoAlignmentOfARelocatableKernelIsRejected()
    {
        Assert.Throws<BootImageException>(() => BzImage.Parse(new BzImageBuilder { KernelAlignment = 0x30_0000 }.Build()));
    }

    [Fact]
    public void SetupHeaderLengthOutsideTheZeroPageSlotIsRejected()
    {
        Assert.Throws<BootImageException>(() => BzImage.Parse(new BzImageBuilder { HeaderLengthByte = 0xFF }.Build()));
        Assert.Throws<BootImageException>(() => BzImage.Parse(new BzImageBuilder { HeaderLengthByte = 0x10 }.Build()));
    }

    [Theory]
    [InlineData(true, 0x20_0000U, 0x100_0000UL, 0x10_0000UL, 0x100_0000UL)]   // below pref: pref
    [InlineData(true, 0x20_0000U, 0x10_0000UL, 0x10_0000UL, 0x20_0000UL)]     // aligned up to 2 MiB
    [InlineData(false, 0x20_0000U, 0x100_0000UL, 0x10_0000UL, 0x100_0000UL)]  // not relocatable: pref
    public void RuntimeStartFollowsTheInitSizeAlgorithm(bool relocatable, uint alignment, ulong pref, ulong load, ulong expected)
    {
        var image = BzImage.Parse(new BzImageBuilder { Relocatable = relocatable, KernelAlignment = alignment, PrefAddress = pref }.Build());

        Assert.Equal(expected, image.RuntimeStart(load));
    }
}
