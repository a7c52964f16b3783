using Xunit;
using Ember.Memory;
using Ember.Vmm.Boot;
using Ember.Vmm.Tests.Fakes;

namespace Ember.Vmm.Tests.Boot;

public class PvhBootLoaderTests
{
    private const ulong MiB = 1024 * 1024;
    private const uint KernelAddress = 0x100_0000;
    private const uint EntryAddress = KernelAddress + 0x40;

    private static byte[] Text(int length = 0x300) => Enumerable.Range(0, length).Select(i => (byte)(i * 13 + 1)).ToArray();

    private static ElfBuilder Vmlinux(ElfClass elfClass = ElfClass.Elf64) =>
        new ElfBuilder(elfClass) { Entry = 0xFFFF_FFFF_8100_0000 & (elfClass == ElfClass.Elf64 ? ulong.MaxValue : uint.MaxValue) }
            .Load(KernelAddress, Text(), memorySize: 0x300 + 0x2000, virtualAddress: elfClass == ElfClass.Elf64 ? 0xFFFF_FFFF_8100_0000 : KernelAddress)
            .PvhNote(EntryAddress);

    private static (ByteArrayGuestMemory Memory, BootEntry Entry) Boot(ElfBuilder builder, ulong memorySize = 128 * MiB, byte[]? initrd = null, string commandLine = "console=ttyS0", ulong? rsdp = null)
    {
        var memory = ByteArrayGuestMemory.WithLayout(memorySize);
        var request = new BootRequest(builder.Build(), commandLine)
        {
            Initrd = initrd ?? default(ReadOnlyMemory<byte>),
            AcpiRsdp = rsdp is { } r ? new GuestAddress(r) : null,
        };
        return (memory, new PvhBootLoader().Load(memory, request));
    }

    [Theory]
    [InlineData(ElfClass.Elf64)]
    [InlineData(ElfClass.Elf32)]
    public void SegmentsAreLoadedByPhysicalAddressAndBssIsZeroed(ElfClass elfClass)
    {
        var memory = ByteArrayGuestMemory.WithLayout(128 * MiB);
        memory.Write(new GuestAddress(KernelAddress + 0x300), Enumerable.Repeat((byte)0xFF, 0x2000).ToArray());

        new PvhBootLoader().Load(memory, new BootRequest(Vmlinux(elfClass).Build(), ""));

        Assert.Equal(Text(), memory.ReadBytes(KernelAddress, 0x300));
        Assert.All(memory.ReadBytes(KernelAddress + 0x300, 0x2000), b => Assert.Equal(0, b));
        Assert.Equal((byte)0, memory.ReadByte(KernelAddress + 0x300 + 0x2000 - 1));
    }

    [Theory]
    [InlineData(ElfClass.Elf64)]
    [InlineData(ElfClass.Elf32)]
    public void EntryIsThePhys32NoteIn32BitProtectedModeWithEbxAtStartInfo(ElfClass elfClass)
    {
        var (_, entry) = Boot(Vmlinux(elfClass));

        Assert.Equal(BootCpuMode.Protected32, entry.Mode);
        Assert.Equal(EntryAddress, entry.EntryPoint);
        Assert.Equal(Layout.PvhStartInfo, entry.Registers.Rbx);
        Assert.Equal(0x11UL, entry.Cpu.Cr0);
        Assert.Equal(0UL, entry.Cpu.Cr4);
        Assert.True(entry.Cpu.Code.DefaultBig);
        Assert.Equal(0x67U, entry.Cpu.Task.Limit);
    }

    [Fact]
    public void StartInfoFieldsAreAtTheirStartInfoHOffsets()
    {
        var initrd = new byte[3000];
        initrd[0] = 0x5A;

        var (memory, _) = Boot(Vmlinux(), initrd: initrd, commandLine: "root=/dev/vda", rsdp: Layout.Rsdp);
        ulong si = Layout.PvhStartInfo;

        Assert.Equal(0x336EC578U, memory.ReadUInt32(si + 0x00));
        Assert.Equal(1U, memory.ReadUInt32(si + 0x04));
        Assert.Equal(0U, memory.ReadUInt32(si + 0x08));
        Assert.Equal(1U, memory.ReadUInt32(si + 0x0C));
        Assert.Equal(Layout.PvhModuleList, memory.ReadUInt64(si + 0x10));
        Assert.Equal(Layout.CommandLine, memory.ReadUInt64(si + 0x18));
        Assert.Equal(Layout.Rsdp, memory.ReadUInt64(si + 0x20));
        Assert.Equal(Layout.BootMemoryMap, memory.ReadUInt64(si + 0x28));
        Assert.Equal(3U, memory.ReadUInt32(si + 0x30));
        Assert.Equal(0U, memory.ReadUInt32(si + 0x34));
        Assert.Equal("root=/dev/vda", memory.ReadCString(Layout.CommandLine));
    }

    [Fact]
    public void ModuleListDescribesTheInitrdAtTheTopOfRam()
    {
        var initrd = Enumerable.Range(0, 6000).Select(i => (byte)i).ToArray();

        var (memory, _) = Boot(Vmlinux(), initrd: initrd);
        ulong module = Layout.PvhModuleList;

        ulong address = memory.ReadUInt64(module);
        Assert.Equal(128 * MiB - 8192, address);
        Assert.Equal(6000UL, memory.ReadUInt64(module + 8));
        Assert.Equal(0UL, memory.ReadUInt64(module + 16));   // no module command line
        Assert.Equal(0UL, memory.ReadUInt64(module + 24));
        Assert.Equal(initrd, memory.ReadBytes(address, initrd.Length));
    }

    [Fact]
    public void WithoutInitrdThereAreNoModules()
    {
        var (memory, _) = Boot(Vmlinux());

        Assert.Equal(0U, memory.ReadUInt32(Layout.PvhStartInfo + 0x0C));
        Assert.Equal(0UL, memory.ReadUInt64(Layout.PvhStartInfo + 0x10));
        Assert.Equal(0UL, memory.ReadUInt64(Layout.PvhStartInfo + 0x20));   // no RSDP given
    }

    [Fact]
    public void MemoryMapEntriesAreAddrSizeTypeReserved()
    {
        var (memory, _) = Boot(Vmlinux(), memorySize: 5UL << 30);
        ulong map = Layout.BootMemoryMap;

        Assert.Equal(4U, memory.ReadUInt32(Layout.PvhStartInfo + 0x30));
        (ulong, ulong, uint, uint)[] expected =
        [
            (0, 0x9FC00, 1, 0),
            (0x9FC00, 0x60400, 2, 0),
            (0x100000, (3UL << 30) - 0x100000, 1, 0),
            (4UL << 30, 2UL << 30, 1, 0),
        ];
        for (int i = 0; i < expected.Length; i++)
        {
            ulong e = map + (ulong)(24 * i);
            Assert.Equal(expected[i], (memory.ReadUInt64(e), memory.ReadUInt64(e + 8), memory.ReadUInt32(e + 16), memory.ReadUInt32(e + 20)));
        }
    }

    [Fact]
    public void ImageWithoutThePvhNoteIsRejected()
    {
        var builder = new ElfBuilder(ElfClass.Elf64).Load(KernelAddress, Text()).Note("GNU", 3, new byte[20]);

        var ex = Assert.Throws<BootImageException>(() => Boot(builder));
        Assert.Contains("XEN_ELFNOTE_PHYS32_ENTRY", ex.Message);
    }

    [Fact]
    public void NoteWithTheRightTypeButAnotherOwnerIsIgnored()
    {
        var builder = new ElfBuilder(ElfClass.Elf64).Load(KernelAddress, Text()).Note("GNU", 18, new byte[8]);

        Assert.False(PvhBootLoader.TryFindEntryPoint(ElfImage.Parse(builder.Build()), out _));
    }

    [Fact]
    public void PvhNoteWithAnOddDescriptorSizeIsRejected()
    {
        var builder = new ElfBuilder(ElfClass.Elf64).Load(KernelAddress, Text()).Note("Xen", 18, new byte[6]);

        Assert.Throws<BootImageException>(() => Boot(builder));
    }

    [Fact]
    public void EntryOutsideTheLoadedSegmentsIsRejected()
    {
        var builder = new ElfBuilder(ElfClass.Elf64).Load(KernelAddress, Text()).PvhNote(KernelAddress + 0x10_0000);

        Assert.Throws<BootImageException>(() => Boot(builder));
    }

    [Fact]
    public void SegmentOutsideRamIsRejectedWithTheMemoryItNeeds()
    {
        var builder = new ElfBuilder(ElfClass.Elf64).Load(200 * (uint)MiB, Text()).PvhNote(200 * (uint)MiB);

        var ex = Assert.Throws<BootImageException>(() => Boot(builder, memorySize: 128 * MiB));
        Assert.Contains("the kernel needs 201 MiB of guest memory", ex.Message);
        Assert.Contains("raise --memory", ex.Message);
    }

    [Fact]
    public void SegmentWhoseBssRunsPastRamIsRejected()
    {
        var builder = new ElfBuilder(ElfClass.Elf64).Load(KernelAddress, Text(), memorySize: 200 * MiB).PvhNote(EntryAddress);

        Assert.Throws<BootImageException>(() => Boot(builder, memorySize: 128 * MiB));
    }

    [Fact]
    public void SegmentOverTheBootStructuresBelowOneMiBIsRejected()
    {
        var builder = new ElfBuilder(ElfClass.Elf64).Load(0x7000, Text()).PvhNote(0x7000);

        Assert.Throws<BootImageException>(() => Boot(builder));
    }

    [Fact]
    public void SegmentInTheMmioHoleIsRejectedEvenWithRamAboveFourGiB()
    {
        var builder = new ElfBuilder(ElfClass.Elf64).Load(0xC000_0000, Text()).PvhNote(0xC000_0000);

        Assert.Throws<BootImageException>(() => Boot(builder, memorySize: 5UL << 30));
    }
}
