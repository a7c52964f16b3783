using Xunit;
using Ember.Vmm.Boot;

namespace Ember.Vmm.Tests.Boot;

public class BootImageFormatTests
{
    [Fact]
    public void BzImageIsDetectedByItsHeaderMagic()
    {
        var kernel = new BzImageBuilder().Build();

        Assert.Equal(BootImageFormat.LinuxBzImage, BootImageFormatDetector.Detect(kernel));
        Assert.IsType<LinuxBootLoader>(BootImageFormatDetector.CreateLoader(kernel));
    }

    [Fact]
    public void ElfWithAPvhNoteIsPvh()
    {
        var kernel = new ElfBuilder(ElfClass.Elf64).Load(0x100_0000, new byte[64]).PvhNote(0x100_0000).Build();

        Assert.Equal(BootImageFormat.Pvh, BootImageFormatDetector.Detect(kernel));
        Assert.IsType<PvhBootLoader>(BootImageFormatDetector.CreateLoader(kernel));
    }

    [Fact]
    public void ElfWithOnlyAMultibootHeaderIsMultiboot()
    {
        var kernel = MultibootImages.Elf32Kernel().Build();

        Assert.Equal(BootImageFormat.Multiboot, BootImageFormatDetector.Detect(kernel));
        Assert.IsType<MultibootLoader>(BootImageFormatDetector.CreateLoader(kernel));
    }

    [Fact]
    public void ElfWithBothPrefersPvh()
    {
        var kernel = MultibootImages.Elf32Kernel().PvhNote(MultibootImages.KernelAddress + 0x10).Build();

        Assert.Equal(BootImageFormat.Pvh, BootImageFormatDetector.Detect(kernel));
    }

    [Fact]
    public void RawBinaryWithTheAoutKludgeIsMultiboot()
    {
        var kernel = MultibootImages.AoutKludgeKernel(out _, out _, out _);

        Assert.Equal(BootImageFormat.Multiboot, BootImageFormatDetector.Detect(kernel));
    }

    [Fact]
    public void ElfWithNeitherIsRejected()
    {
        var kernel = new ElfBuilder(ElfClass.Elf64).Load(0x100_0000, new byte[64]).Build();

        var ex = Assert.Throws<BootImageException>(() => BootImageFormatDetector.Detect(kernel));
        Assert.Contains("neither", ex.Message);
    }

    [Fact]
    public void UnknownBytesAreRejected()
    {
        Assert.Throws<BootImageException>(() => BootImageFormatDetector.Detect(new byte[8192]));
        Assert.Throws<BootImageException>(() => BootImageFormatDetector.Detect(ReadOnlyMemory<byte>.Empty));
    }

    [Fact]
    public void RawBinaryWithAHeaderButNoAddressFieldsIsNotMultiboot()
    {
        var kernel = new byte[256];
        MultibootImages.Header(0).CopyTo(kernel, 0);

        Assert.Throws<BootImageException>(() => BootImageFormatDetector.Detect(kernel));
    }
}
