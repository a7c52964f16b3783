using Xunit;
using System.Buffers.Binary;
using Ember.Memory;
using Ember.Vmm.Boot;
using Ember.Vmm.Tests.Fakes;

namespace Ember.Vmm.Tests.Boot;

public class MultibootLoaderTests
{
    private const ulong MiB = 1024 * 1024;

    private static (ByteArrayGuestMemory Memory, BootEntry Entry) Boot(byte[] kernel, ulong memorySize = 64 * MiB, byte[]? initrd = null, string commandLine = "")
    {
        var memory = ByteArrayGuestMemory.WithLayout(memorySize);
        var request = new BootRequest(kernel, commandLine) { Initrd = initrd ?? default(ReadOnlyMemory<byte>) };
        return (memory, new MultibootLoader().Load(memory, request));
    }

    [Fact]
    public void HeaderIsFoundAtA4ByteAlignedOffsetWithAValidChecksum()
    {
        var image = new byte[1024];
        MultibootImages.Header(0).CopyTo(image, 0x100);

        Assert.True(MultibootHeader.TryFind(image, out var header));
        Assert.Equal(0x100, header!.FileOffset);
    }

    [Fact]
    public void MisalignedHeaderOrHeaderBeyond8KiBIsNotFound()
    {
        var misaligned = new byte[1024];
        MultibootImages.Header(0).CopyTo(misaligned, 0x102);
        var late = new byte[16384];
        MultibootImages.Header(0).CopyTo(late, 8192);

        Assert.False(MultibootHeader.TryFind(misaligned, out _));
        Assert.False(MultibootHeader.TryFind(late, out _));
    }

    [Fact]
    public void MagicWithABadChecksumIsSkipped()
    {
        var image = new byte[1024];
        var bad = MultibootImages.Header(0);
        bad[8] ^= 1;
        bad.CopyTo(image, 0);
        MultibootImages.Header(MultibootHeader.FlagMemoryInfo).CopyTo(image, 0x40);

        Assert.True(MultibootHeader.TryFind(image, out var header));
        Assert.Equal(0x40, header!.FileOffset);
        Assert.Equal(MultibootHeader.FlagMemoryInfo, header.Flags);
    }

    [Fact]
    public void UnknownRequiredFlagIsRejected()
    {
        var image = new byte[64];
        MultibootImages.Header(1u << 3).CopyTo(image, 0);

        var ex = Assert.Throws<BootImageException>(() => MultibootHeader.TryFind(image, out _));
        Assert.Contains("0x8", ex.Message);
    }

    [Fact]
    public void Elf32KernelIsLoadedWithBssZeroedAndEnteredWithTheMagicInEax()
    {
        var memory = ByteArrayGuestMemory.WithLayout(64 * MiB);
        memory.Write(new GuestAddress(MultibootImages.KernelAddress + 0x400), Enumerable.Repeat((byte)0xCC, 0x3000).ToArray());

        var entry = new MultibootLoader().Load(memory, new BootRequest(MultibootImages.Elf32Kernel().Build(), "x"));

        Assert.Equal(MultibootImages.TextWithHeader(), memory.ReadBytes(MultibootImages.KernelAddress, 0x400));
        Assert.All(memory.ReadBytes(MultibootImages.KernelAddress + 0x400, 0x3000), b => Assert.Equal(0, b));
        Assert.Equal(BootCpuMode.Protected32, entry.Mode);
        Assert.Equal(MultibootImages.KernelAddress + 0x10UL, entry.KernelEntry);
        Assert.Equal(0x2BADB002UL, entry.Registers.Rax);
        Assert.Equal(Layout.MultibootInfo, entry.Registers.Rbx);
        Assert.Equal(0UL, entry.Cpu.Cr0 & 0x8000_0000UL);
        Assert.Equal(1UL, entry.Cpu.Cr0 & 1UL);
    }

    [Fact]
    public void InfoFieldsAreAtTheirSpecOffsets()
    {
        var (memory, _) = Boot(MultibootImages.Elf32Kernel().Build(), initrd: new byte[100], commandLine: "debug");
        ulong info = Layout.MultibootInfo;

        uint flags = memory.ReadUInt32(info + 0);
        Assert.Equal((1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9), flags);
        Assert.Equal(639U, memory.ReadUInt32(info + 4));                             // mem_lower in KiB
        Assert.Equal((uint)((64 * MiB - MiB) / 1024), memory.ReadUInt32(info + 8));  // mem_upper in KiB
        Assert.Equal("debug", memory.ReadCString(memory.ReadUInt32(info + 16)));
        Assert.Equal(1U, memory.ReadUInt32(info + 20));
        Assert.Equal((uint)Layout.MultibootModuleList, memory.ReadUInt32(info + 24));
        Assert.Equal(3U * 24, memory.ReadUInt32(info + 44));
        Assert.Equal((uint)Layout.BootMemoryMap, memory.ReadUInt32(info + 48));
        Assert.Equal("Ember", memory.ReadCString(memory.ReadUInt32(info + 64)));
        Assert.Equal(0U, memory.ReadUInt32(info + 12));   // no boot device
    }

    [Fact]
    public void MemoryMapEntriesCarryTheSizeFieldBeforeEachEntry()
    {
        var (memory, _) = Boot(MultibootImages.Elf32Kernel().Build());
        ulong map = memory.ReadUInt32(Layout.MultibootInfo + 48);
        uint length = memory.ReadUInt32(Layout.MultibootInfo + 44);

        var entries = new List<(uint Size, ulong Base, ulong Length, uint Type)>();
        for (ulong at = map; at < map + length; at += memory.ReadUInt32(at) + 4)
        {
            entries.Add((memory.ReadUInt32(at), memory.ReadUInt64(at + 4), memory.ReadUInt64(at + 12), memory.ReadUInt32(at + 20)));
        }

        Assert.Equal(
            [
                (20U, 0UL, 0x9FC00UL, 1U),
                (20U, 0x9FC00UL, 0x60400UL, 2U),
                (20U, 0x100000UL, 63 * MiB, 1U),
            ],
            entries);
    }

    [Fact]
    public void InitrdBecomesAPageAlignedModuleWithItsString()
    {
        var initrd = Enumerable.Range(0, 5000).Select(i => (byte)(i * 3)).ToArray();

        var (memory, _) = Boot(MultibootImages.Elf32Kernel().Build(), initrd: initrd);
        ulong module = Layout.MultibootModuleList;

        uint start = memory.ReadUInt32(module);
        uint end = memory.ReadUInt32(module + 4);
        Assert.Equal(0U, start % 4096);
        Assert.Equal(start + 5000U, end);
        Assert.Equal((uint)(64 * MiB - 8192), start);
        Assert.Equal("initrd", memory.ReadCString(memory.ReadUInt32(module + 8)));
        Assert.Equal(0U, memory.ReadUInt32(module + 12));
        Assert.Equal(initrd, memory.ReadBytes(start, initrd.Length));
    }

    [Fact]
    public void WithoutInitrdTheModuleCountIsZero()
    {
        var (memory, _) = Boot(MultibootImages.Elf32Kernel().Build());

        Assert.Equal(0U, memory.ReadUInt32(Layout.MultibootInfo + 20));
    }

    [Fact]
    public void AoutKludgeLoadsTheFileFromTheHeaderRelativeOffsetAndZeroesBss()
    {
        byte[] kernel = MultibootImages.AoutKludgeKernel(out uint entryAddress, out uint loadEnd, out uint bssEnd);
        var memory = ByteArrayGuestMemory.WithLayout(64 * MiB);
        memory.Write(new GuestAddress(loadEnd), Enumerable.Repeat((byte)0xEE, (int)(bssEnd - loadEnd)).ToArray());

        var entry = new MultibootLoader().Load(memory, new BootRequest(kernel, ""));

        Assert.Equal(kernel, memory.ReadBytes(MultibootImages.KernelAddress, kernel.Length));
        Assert.All(memory.ReadBytes(loadEnd, (int)(bssEnd - loadEnd)), b => Assert.Equal(0, b));
        Assert.Equal(entryAddress, entry.KernelEntry);
        Assert.Equal(0x2BADB002UL, entry.Registers.Rax);
    }

    [Fact]
    public void AoutKludgeWithAHeaderAddressThatDoesNotMatchTheFileIsRejected()
    {
        var image = new byte[0x200];
        // The header is at file offset 0 but claims to sit 0x100 bytes into the image.
        MultibootImages.Header(MultibootHeader.FlagAddressFields, headerAddress: 0x20_0100, loadAddress: 0x20_0000, entry: 0x20_0000).CopyTo(image, 0);

        Assert.Throws<BootImageException>(() => Boot(image));
    }

    [Fact]
    public void AoutKludgeWithLoadEndBeyondTheFileIsRejected()
    {
        var image = new byte[0x200];
        MultibootImages.Header(MultibootHeader.FlagAddressFields, headerAddress: 0x20_0000, loadAddress: 0x20_0000, loadEnd: 0x20_1000, entry: 0x20_0000).CopyTo(image, 0);

        Assert.Throws<BootImageException>(() => Boot(image));
    }

    [Fact]
    public void AoutKludgeEntryOutsideTheImageIsRejected()
    {
        var image = new byte[0x200];
        MultibootImages.Header(MultibootHeader.FlagAddressFields, headerAddress: 0x20_0000, loadAddress: 0x20_0000, entry: 0x30_0000).CopyTo(image, 0);

        Assert.Throws<BootImageException>(() => Boot(image));
    }

    [Fact]
    public void AoutKludgeBssPastRamIsRejected()
    {
        var image = new byte[0x200];
        MultibootImages.Header(MultibootHeader.FlagAddressFields, headerAddress: 0x20_0000, loadAddress: 0x20_0000, bssEnd: 0x800_0000, entry: 0x20_0000).CopyTo(image, 0);

        Assert.Throws<BootImageException>(() => Boot(image, memorySize: 64 * MiB));
    }

    [Fact]
    public void Elf64MultibootKernelIsRejected()
    {
        var builder = new ElfBuilder(ElfClass.Elf64) { Entry = MultibootImages.KernelAddress }.Load(MultibootImages.KernelAddress, MultibootImages.TextWithHeader());

        var ex = Assert.Throws<BootImageException>(() => Boot(builder.Build()));
        Assert.Contains("ELF32", ex.Message);
    }

    [Fact]
    public void ElfEntryOutsideEverySegmentIsRejected()
    {
        var builder = new ElfBuilder(ElfClass.Elf32) { Entry = 0x90_0000 }.Load(MultibootImages.KernelAddress, MultibootImages.TextWithHeader());

        Assert.Throws<BootImageException>(() => Boot(builder.Build()));
    }

    [Fact]
    public void ImageWithoutAHeaderIsRejected()
    {
        var ex = Assert.Throws<BootImageException>(() => Boot(new byte[4096]));

        Assert.Contains("multiboot header", ex.Message);
    }

    [Fact]
    public void InfoEncodingPutsEveryFieldAtItsOffset()
    {
        var info = new MultibootInfo(1, 2, 3, 4, 5, 6, 7, 8, 9).Encode();

        Assert.Equal(88, info.Length);
        int[] offsets = [0, 4, 8, 16, 20, 24, 44, 48, 64];
        for (int i = 0; i < offsets.Length; i++)
        {
            Assert.Equal((uint)(i + 1), BinaryPrimitives.ReadUInt32LittleEndian(info.AsSpan(offsets[i])));
        }
    }

    [Fact]
    public void AKernelLinkedAt0x8000LoadsThereAsUnderQemu()
    {
        var builder = new ElfBuilder(ElfClass.Elf32) { Entry = 0x8010 }.Load(0x8000, MultibootImages.TextWithHeader());
        var (memory, entry) = Boot(builder.Build());
        Assert.Equal(0x8010UL, entry.KernelEntry);
        Assert.Equal(MultibootImages.TextWithHeader().AsSpan(0, 16).ToArray(), memory.GetSpan(new(0x8000), 16).ToArray());
    }

    [Theory]
    [InlineData(0x6000u, "multiboot information at 0x6000-0x7000")]
    [InlineData(0x0u, "real-mode IVT and BIOS data area at 0x0-0x500")]
    [InlineData(0xF_0000u, "EBDA, ACPI tables and firmware at 0x9fc00-0x100000")]
    [InlineData(0x2_0000u, "kernel command line at 0x20000-0x30000")]
    public void AKernelOverEmbersOwnLowMemoryIsRefusedNamingBothRanges(uint address, string ember)
    {
        var builder = new ElfBuilder(ElfClass.Elf32) { Entry = address + 0x10 }.Load(address, MultibootImages.TextWithHeader());
        var error = Assert.Throws<BootImageException>(() => Boot(builder.Build()));
        Assert.Contains($"at 0x{address:x}-", error.Message);
        Assert.Contains(ember, error.Message);
    }

    [Fact]
    public void TheFirmwareLeavesAnIvtOfIretStubsAndStartsTheVcpuInItsSetupCode()
    {
        var (memory, entry) = Boot(MultibootImages.Elf32Kernel().Build());
        Assert.Equal(MultibootFirmware.SetupCode, entry.EntryPoint);
        foreach (int vector in new[] { 0, 8, 0x1C, 255 })
        {
            ushort offset = memory.ReadObject<ushort>(new((ulong)vector * 4));
            ushort segment = memory.ReadObject<ushort>(new((ulong)vector * 4 + 2));
            Assert.Equal(MultibootFirmware.IretStub, ((ulong)segment << 4) + offset);
        }
        Assert.Equal(0xCF, memory.GetSpan(new(MultibootFirmware.IretStub), 1)[0]);
    }

    [Fact]
    public void TheSetupCodeProgramsBothPicsAndThePitThenJumpsToTheKernelWithTheMagic()
    {
        var decoder = Iced.Intel.Decoder.Create(32, new Iced.Intel.ByteArrayCodeReader(MultibootFirmware.SetupInstructions(0x12_3456)));
        var instructions = new List<Iced.Intel.Instruction>();
        while (instructions.Count == 0 || instructions[^1].Mnemonic != Iced.Intel.Mnemonic.Jmp)
            instructions.Add(decoder.Decode());
        var ports = instructions.Where(i => i.Mnemonic == Iced.Intel.Mnemonic.Out).Select(i => i.Immediate8).ToList();
        Assert.Equal([0x20, 0xA0, 0x21, 0xA1, 0x21, 0xA1, 0x21, 0xA1, 0x21, 0xA1, 0x43, 0x40, 0x40], ports);
        Assert.Equal(MultibootFirmware.SetupPortWrites, ports.Count);
        Assert.Contains(instructions, i => i.Code == Iced.Intel.Code.Mov_r32_imm32 && i.Op0Register == Iced.Intel.Register.EAX && i.Immediate32 == MultibootInfo.BootloaderMagic);
        Assert.Contains(instructions, i => i.Code == Iced.Intel.Code.Mov_r32_imm32 && i.Op0Register == Iced.Intel.Register.ECX && i.Immediate32 == 0x12_3456);
    }
}
