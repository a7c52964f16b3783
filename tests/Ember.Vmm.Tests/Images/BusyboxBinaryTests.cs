using System.Buffers.Binary;
using Ember.Vmm.Images;

namespace Ember.Vmm.Tests.Images;

public sealed class BusyboxBinaryTests
{
    private const string Busybox = "/bin/busybox";
    private const uint ProgramTypeLoad = 1;      // PT_LOAD
    private const uint ProgramTypeInterpreter = 3; // PT_INTERP

    /// <summary>An ELF64 header and program header table (System V gABI) with the given segment types; nothing else.</summary>
    private static byte[] FakeElf(ushort machine, params uint[] programTypes)
    {
        const int headerSize = 0x40, entrySize = 0x38;
        var elf = new byte[headerSize + entrySize * programTypes.Length];
        elf[0] = 0x7F; elf[1] = (byte)'E'; elf[2] = (byte)'L'; elf[3] = (byte)'F';
        elf[4] = 2; // ELFCLASS64
        elf[5] = 1; // ELFDATA2LSB
        elf[6] = 1; // EV_CURRENT
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(0x10), 2); // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(0x12), machine);
        BinaryPrimitives.WriteUInt64LittleEndian(elf.AsSpan(0x20), headerSize);
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(0x36), entrySize);
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(0x38), (ushort)programTypes.Length);
        for (var i = 0; i < programTypes.Length; i++)
            BinaryPrimitives.WriteUInt32LittleEndian(elf.AsSpan(headerSize + i * entrySize), programTypes[i]);
        return elf;
    }

    [Fact]
    public void AStaticX86_64ElfIsAccepted()
    {
        using var temp = new TempDirectory();
        var path = temp.Combine("static");
        File.WriteAllBytes(path, FakeElf(62, ProgramTypeLoad, ProgramTypeLoad));
        BusyboxBinary.EnsureStaticX86_64(path);
    }

    [Fact]
    public void ADynamicallyLinkedElfIsRefusedWithTheFix()
    {
        using var temp = new TempDirectory();
        var path = temp.Combine("dynamic");
        File.WriteAllBytes(path, FakeElf(62, ProgramTypeLoad, ProgramTypeInterpreter));

        var error = Assert.Throws<GuestImageException>(() => BusyboxBinary.EnsureStaticX86_64(path));
        Assert.Contains("busybox-static", error.Message);
    }

    [Fact]
    public void OtherFilesAreRefused()
    {
        using var temp = new TempDirectory();
        var arm = temp.Combine("arm");
        File.WriteAllBytes(arm, FakeElf(183, ProgramTypeLoad)); // EM_AARCH64
        Assert.Throws<GuestImageException>(() => BusyboxBinary.EnsureStaticX86_64(arm));
        Assert.Throws<GuestImageException>(() => BusyboxBinary.EnsureStaticX86_64(temp.WriteFile("script", "#!/bin/sh\necho hi\n")));
        Assert.Throws<GuestImageException>(() => BusyboxBinary.EnsureStaticX86_64(temp.Combine("absent")));
        var truncated = temp.Combine("truncated");
        File.WriteAllBytes(truncated, FakeElf(62, ProgramTypeLoad, ProgramTypeLoad)[..0x50]);
        Assert.Throws<GuestImageException>(() => BusyboxBinary.EnsureStaticX86_64(truncated));
    }

    [Fact]
    public void TheHostsDynamicLsIsRefused()
    {
        Assert.SkipUnless(File.Exists("/bin/ls"), "No /bin/ls.");
        Assert.Throws<GuestImageException>(() => BusyboxBinary.EnsureStaticX86_64("/bin/ls"));
    }

    [Fact]
    public void DebiansBusyboxStaticIsStaticAndHasEveryAppletInitUses()
    {
        Assert.SkipUnless(File.Exists(Busybox), "busybox-static is not installed.");
        BusyboxBinary.EnsureStaticX86_64(Busybox);

        var applets = BusyboxBinary.ListApplets(Busybox);

        Assert.Superset(GuestInitScript.Applets.ToHashSet(), applets.ToHashSet());
        Assert.Contains("devmem", applets);
        BusyboxBinary.EnsureApplets(Busybox, GuestInitScript.Applets);
        var error = Assert.Throws<GuestImageException>(() => BusyboxBinary.EnsureApplets(Busybox, ["sh", "no-such-applet"]));
        Assert.Contains("no-such-applet", error.Message);
        Assert.DoesNotContain("sh,", error.Message);
    }
}
