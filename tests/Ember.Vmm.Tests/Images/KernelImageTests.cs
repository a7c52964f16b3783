using System.Buffers.Binary;
using System.Text;
using Ember.Vmm.Images;

namespace Ember.Vmm.Tests.Images;

public sealed class KernelImageTests
{
    /// <summary>A setup header as Documentation/arch/x86/boot.rst lays it out, with only the fields the reader uses.</summary>
    private static byte[] FakeBzImage(string versionString, ushort protocol = 0x020F, ushort pointer = 0x0300, string magic = "HdrS")
    {
        var image = new byte[0x1000];
        Encoding.ASCII.GetBytes(magic).CopyTo(image, 0x202);
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(0x206), protocol);
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(0x20E), pointer);
        Encoding.ASCII.GetBytes(versionString + "\0").CopyTo(image, pointer + 0x200);
        return image;
    }

    [Fact]
    public void TheReleaseIsTheFirstWordOfTheHeadersVersionString()
    {
        var image = FakeBzImage("6.1.0-56-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2");
        Assert.Equal("6.1.0-56-cloud-amd64", KernelImage.ReadReleaseFromHeader(image));
        Assert.Equal("6.12.0+deb13", KernelImage.ReadReleaseFromHeader(FakeBzImage("6.12.0+deb13")));
    }

    [Fact]
    public void ImagesWithoutAUsableHeaderGiveNoRelease()
    {
        Assert.Null(KernelImage.ReadReleaseFromHeader(FakeBzImage("6.1.0", magic: "XXXX")));
        Assert.Null(KernelImage.ReadReleaseFromHeader(FakeBzImage("6.1.0", protocol: 0x0105)));
        Assert.Null(KernelImage.ReadReleaseFromHeader(FakeBzImage("6.1.0", pointer: 0)));
        Assert.Null(KernelImage.ReadReleaseFromHeader(FakeBzImage("6.1.0")[..0x400])); // Pointer past the end.
        Assert.Null(KernelImage.ReadReleaseFromHeader(FakeBzImage("6.1\u0001garbage")));
        Assert.Null(KernelImage.ReadReleaseFromHeader(FakeBzImage(new string('7', 65))));
        Assert.Null(KernelImage.ReadReleaseFromHeader(new byte[16]));
    }

    [Fact]
    public void WithoutAHeaderTheFileNameGivesTheRelease()
    {
        using var temp = new TempDirectory();
        Assert.Equal("1.2.3-test", KernelImage.ReadRelease(temp.WriteFile("vmlinuz-1.2.3-test", "not a kernel")));
        Assert.Null(KernelImage.ReadRelease(temp.WriteFile("bzImage", "not a kernel")));

        var withHeader = temp.Combine("vmlinuz-named-otherwise");
        File.WriteAllBytes(withHeader, FakeBzImage("4.5.6-from-header #1"));
        Assert.Equal("4.5.6-from-header", KernelImage.ReadRelease(withHeader));
    }

    [Fact]
    public void TheNewestCloudKernelWinsByReleaseNotByText()
    {
        using var temp = new TempDirectory();
        foreach (var name in new[] { "vmlinuz-6.1.0-9-cloud-amd64", "vmlinuz-6.1.0-56-cloud-amd64", "vmlinuz-5.10.0-30-cloud-amd64", "vmlinuz-6.1.0-99-amd64", "config-6.1.0-60-cloud-amd64" })
            temp.WriteFile(name, "x");

        Assert.Equal(temp.Combine("vmlinuz-6.1.0-56-cloud-amd64"), KernelImage.FindNewestCloudKernel(temp.Path));
    }

    [Fact]
    public void NoCloudKernelMeansNull()
    {
        using var temp = new TempDirectory();
        temp.WriteFile("vmlinuz-6.1.0-9-amd64", "x");
        Assert.Null(KernelImage.FindNewestCloudKernel(temp.Path));
        Assert.Null(KernelImage.FindNewestCloudKernel(temp.Combine("absent")));
    }

    [Theory]
    [InlineData("6.1.0-56-cloud-amd64", "6.1.0-9-cloud-amd64")]
    [InlineData("6.10.0-1-cloud-amd64", "6.9.0-5-cloud-amd64")]
    [InlineData("6.1.0-10", "6.1.0-9")]
    [InlineData("6.1.0-9a", "6.1.0-9")]
    [InlineData("6.2", "6.1.99")]
    public void ReleasesCompareNumerically(string newer, string older)
    {
        Assert.True(KernelReleaseComparer.Instance.Compare(newer, older) > 0);
        Assert.True(KernelReleaseComparer.Instance.Compare(older, newer) < 0);
        Assert.Equal(0, KernelReleaseComparer.Instance.Compare(newer, newer));
    }

    [Fact]
    public void TheInstalledCloudKernelsHeaderAgreesWithItsFileName()
    {
        var kernel = KernelImage.FindNewestCloudKernel("/boot");
        Assert.SkipWhen(kernel is null, "linux-image-cloud-amd64 is not installed.");
        var bytes = File.ReadAllBytes(kernel!);

        Assert.Equal(Path.GetFileName(kernel!)["vmlinuz-".Length..], KernelImage.ReadReleaseFromHeader(bytes));
    }
}
