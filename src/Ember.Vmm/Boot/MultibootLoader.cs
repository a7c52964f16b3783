using System.Text;
using Ember.Memory;

namespace Ember.Vmm.Boot;

/// <summary>
/// Boots a Multiboot v1 kernel (Multiboot Specification 0.6.96) the way QEMU's -kernel does for
/// kvm-unit-tests: ELF32 PT_LOAD segments (or the a.out-kludge addresses when header flag 16 is
/// set), bss zeroed, the initrd as the one boot module, a multiboot_info with memory sizes,
/// memory map, command line and loader name, and entry in flat 32-bit protected mode with
/// EAX = 0x2BADB002 and EBX = the info address (§3.2).
/// </summary>
public sealed class MultibootLoader : IBootLoader
{
    /// <summary>Reported in boot_loader_name.</summary>
    public const string BootLoaderName = "Ember";

    /// <summary>Command line of the initrd module.</summary>
    public const string InitrdModuleString = "initrd";

    public BootImageFormat Format => BootImageFormat.Multiboot;

    public BootEntry Load(IGuestMemory memory, BootRequest request)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(request);

        var kernel = request.Kernel;
        if (!MultibootHeader.TryFind(kernel.Span, out var header) || header is null)
        {
            throw new BootImageException($"no multiboot header (magic 0x{MultibootHeader.Magic:x} with a valid checksum) in the first {MultibootHeader.SearchLimit} bytes");
        }

        ulong lowRamEnd = GuestRam.LowRamEnd(memory);
        (ulong kernelEnd, ulong entry) = header.HasAddressFields
            ? LoadWithAddressFields(memory, kernel.Span, header, lowRamEnd)
            : LoadElf(memory, kernel, lowRamEnd);

        ulong commandLine = BootCommandLine.Write(memory, request.CommandLine, Layout.CommandLineMaxSize - 1);

        uint moduleCount = 0;
        if (!request.Initrd.IsEmpty)
        {
            ulong size = (ulong)request.Initrd.Length;
            ulong address = InitrdPlacement.Place(size, AlignUp(kernelEnd), lowRamEnd);
            GuestRam.Write(memory, address, request.Initrd.Span, "initrd");
            GuestRam.Write(memory, Layout.MultibootModuleStrings, NulTerminated(InitrdModuleString), "multiboot module string");
            GuestRam.Write(memory, Layout.MultibootModuleList,
                MultibootInfo.EncodeModule((uint)address, (uint)(address + size), (uint)Layout.MultibootModuleStrings),
                "multiboot module list");
            moduleCount = 1;
        }

        var map = E820Map.ForRam(memory.Regions);
        byte[] memoryMap = MultibootInfo.EncodeMemoryMap(map);
        if ((ulong)memoryMap.Length > Layout.BootMemoryMapSize)
        {
            throw new BootImageException($"memory map of {map.Entries.Count} entries does not fit the boot information page");
        }
        GuestRam.Write(memory, Layout.BootMemoryMap, memoryMap, "multiboot memory map");
        GuestRam.Write(memory, Layout.MultibootLoaderName, NulTerminated(BootLoaderName), "multiboot loader name");

        var info = new MultibootInfo(
            Flags: MultibootInfo.FlagMemory | MultibootInfo.FlagCommandLine | MultibootInfo.FlagModules
                | MultibootInfo.FlagMemoryMap | MultibootInfo.FlagBootLoaderName,
            MemoryLowerKiB: (uint)(LowerMemoryEnd(memory) / 1024),
            MemoryUpperKiB: (uint)((lowRamEnd - Layout.HighMemoryStart) / 1024),
            CommandLineAddress: (uint)commandLine,
            ModuleCount: moduleCount,
            ModuleListAddress: (uint)Layout.MultibootModuleList,
            MemoryMapLength: (uint)memoryMap.Length,
            MemoryMapAddress: (uint)Layout.BootMemoryMap,
            BootLoaderNameAddress: (uint)Layout.MultibootLoaderName);
        GuestRam.Write(memory, Layout.MultibootInfo, info.Encode(), "multiboot info");

        var registers = new BootRegisters(Rax: MultibootInfo.BootloaderMagic, Rbx: Layout.MultibootInfo, Rsi: 0, Rsp: Layout.BootStackPointer, Rflags: BootRegisters.InitialRflags);
        // The vCPU starts in the firmware's setup code (PIC, PIT), which then jumps to the kernel's entry.
        ulong firmware = MultibootFirmware.Write(memory, entry);
        return new BootEntry(BootCpuMode.Protected32, firmware, registers, ProtectedModeSetup.Write(memory)) { KernelEntry = entry };
    }

    private static (ulong KernelEnd, ulong Entry) LoadElf(IGuestMemory memory, ReadOnlyMemory<byte> kernel, ulong lowRamEnd)
    {
        if (!ElfImage.HasElfMagic(kernel.Span))
        {
            throw new BootImageException("multiboot image is not ELF and its header has no address fields (flag 16)");
        }
        var image = ElfImage.Parse(kernel);
        if (image.Class != ElfClass.Elf32)
        {
            throw new BootImageException("multiboot kernels must be ELF32; this one is ELF64");
        }
        // Anywhere in low RAM that Ember does not use itself: test kernels link at 0x8000 as well as at 1 MiB.
        ulong kernelEnd = ElfLoader.LoadSegments(memory, image, 0, lowRamEnd, DescribeCollision);
        if (!image.TryTranslateToPhysical(image.Entry, out ulong entry))
        {
            throw new BootImageException($"ELF entry point 0x{image.Entry:x} is not inside a loaded segment");
        }
        return (kernelEnd, entry);
    }

    /// <summary>
    /// The a.out kludge (§3.1.3): the file from (header offset - (header_addr - load_addr)) is
    /// loaded at load_addr up to load_end_addr (0 = end of file), then zero up to bss_end_addr
    /// (0 = no bss), and entered at entry_addr.
    /// </summary>
    private static (ulong KernelEnd, ulong Entry) LoadWithAddressFields(IGuestMemory memory, ReadOnlySpan<byte> kernel, MultibootHeader header, ulong lowRamEnd)
    {
        if (header.HeaderAddress < header.LoadAddress || header.HeaderAddress - header.LoadAddress > (uint)header.FileOffset)
        {
            throw new BootImageException(
                $"multiboot header_addr 0x{header.HeaderAddress:x} and load_addr 0x{header.LoadAddress:x} do not match the header's file offset 0x{header.FileOffset:x}");
        }
        int fileStart = header.FileOffset - (int)(header.HeaderAddress - header.LoadAddress);
        ulong available = (ulong)(kernel.Length - fileStart);
        ulong loadAddress = header.LoadAddress;
        ulong loadEnd = header.LoadEndAddress == 0 ? loadAddress + available : header.LoadEndAddress;
        if (loadEnd < loadAddress || loadEnd - loadAddress > available)
        {
            throw new BootImageException($"multiboot load_end_addr 0x{loadEnd:x} is before load_addr or beyond the end of the file");
        }
        ulong bssEnd = header.BssEndAddress == 0 ? loadEnd : header.BssEndAddress;
        if (bssEnd < loadEnd)
        {
            throw new BootImageException($"multiboot bss_end_addr 0x{bssEnd:x} is below load_end_addr 0x{loadEnd:x}");
        }
        if (bssEnd > lowRamEnd)
        {
            throw new BootImageException(
                $"multiboot image at 0x{loadAddress:x}-0x{bssEnd:x} does not fit below 0x{lowRamEnd:x}; raise --memory");
        }
        if (DescribeCollision(loadAddress, bssEnd) is { } what)
        {
            throw new BootImageException($"multiboot image at 0x{loadAddress:x}-0x{bssEnd:x} overlaps {what}, which Ember places there; link the kernel elsewhere");
        }
        if (header.EntryAddress < loadAddress || header.EntryAddress >= loadEnd)
        {
            throw new BootImageException($"multiboot entry_addr 0x{header.EntryAddress:x} is outside the loaded image 0x{loadAddress:x}-0x{loadEnd:x}");
        }

        GuestRam.Write(memory, loadAddress, kernel.Slice(fileStart, (int)(loadEnd - loadAddress)), "multiboot image");
        GuestRam.Zero(memory, loadEnd, bssEnd - loadEnd, "multiboot bss");
        return (bssEnd, header.EntryAddress);
    }

    private static string? DescribeCollision(ulong start, ulong end) =>
        MultibootFirmware.Collision(start, end) is { } range ? $"the {range.What} at 0x{range.Start:x}-0x{range.End:x}" : null;

    /// <summary>Bytes of conventional memory from 0, up to the EBDA (mem_lower's "maximally 640 KiB").</summary>
    private static ulong LowerMemoryEnd(IGuestMemory memory)
    {
        foreach (var region in memory.Regions)
        {
            if (region.Contains(GuestAddress.Zero))
            {
                return Math.Min(region.End, Layout.EbdaStart);
            }
        }
        return 0;
    }

    private static byte[] NulTerminated(string text) => Encoding.ASCII.GetBytes(text + "\0");

    private static ulong AlignUp(ulong value) => (value + Layout.PageSize - 1) & ~(Layout.PageSize - 1);
}
