using System.Buffers.Binary;
using Ember.Memory;

namespace Ember.Vmm.Boot;

/// <summary>
/// PVH direct boot of an ELF kernel (Xen's x86 HVM direct-boot ABI, as Linux implements in
/// arch/x86/platform/pvh/head.S): load the PT_LOAD segments, write hvm_start_info with the
/// command line, memory map, initrd module and RSDP, and enter the XEN_ELFNOTE_PHYS32_ENTRY
/// address in 32-bit protected mode with EBX = start info.
/// </summary>
public sealed class PvhBootLoader : IBootLoader
{
    /// <summary>XEN_ELFNOTE_PHYS32_ENTRY (xen/include/public/elfnote.h): physical 32-bit entry point.</summary>
    public const uint XenElfNotePhys32Entry = 18;

    /// <summary>Owner name of Xen notes.</summary>
    public const string XenNoteName = "Xen";

    public BootImageFormat Format => BootImageFormat.Pvh;

    /// <summary>Finds the PHYS32 entry note. The descriptor is 4 bytes (ELF32) or 8 (ELF64 kernels emit a .quad).</summary>
    /// <exception cref="BootImageException">The note is malformed or its address is above 4 GiB.</exception>
    public static bool TryFindEntryPoint(ElfImage image, out uint entryPoint)
    {
        ArgumentNullException.ThrowIfNull(image);
        foreach (var note in image.Notes())
        {
            if (note.Type != XenElfNotePhys32Entry || note.Name != XenNoteName)
            {
                continue;
            }
            var desc = note.Descriptor.Span;
            ulong value = desc.Length switch
            {
                4 => BinaryPrimitives.ReadUInt32LittleEndian(desc),
                8 => BinaryPrimitives.ReadUInt64LittleEndian(desc),
                _ => throw new BootImageException($"XEN_ELFNOTE_PHYS32_ENTRY descriptor is {desc.Length} bytes, expected 4 or 8"),
            };
            if (value > uint.MaxValue)
            {
                throw new BootImageException($"XEN_ELFNOTE_PHYS32_ENTRY 0x{value:x} is above 4 GiB");
            }
            entryPoint = (uint)value;
            return true;
        }
        entryPoint = 0;
        return false;
    }

    public BootEntry Load(IGuestMemory memory, BootRequest request)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(request);

        var image = ElfImage.Parse(request.Kernel);
        if (!TryFindEntryPoint(image, out uint entry))
        {
            throw new BootImageException("ELF image has no XEN_ELFNOTE_PHYS32_ENTRY note; it cannot be booted with PVH");
        }

        ulong lowRamEnd = GuestRam.LowRamEnd(memory);
        ulong kernelEnd = ElfLoader.LoadSegments(memory, image, Layout.HighMemoryStart, lowRamEnd);
        if (!image.IsLoadedPhysical(entry))
        {
            throw new BootImageException($"PVH entry point 0x{entry:x} is not inside a loaded segment");
        }

        ulong commandLine = BootCommandLine.Write(memory, request.CommandLine, Layout.CommandLineMaxSize - 1);

        uint moduleCount = 0;
        ulong moduleList = 0;
        if (!request.Initrd.IsEmpty)
        {
            ulong size = (ulong)request.Initrd.Length;
            ulong address = InitrdPlacement.Place(size, AlignUp(kernelEnd), lowRamEnd);
            GuestRam.Write(memory, address, request.Initrd.Span, "initrd");
            GuestRam.Write(memory, Layout.PvhModuleList, PvhStartInfo.EncodeModule(address, size, commandLineAddress: 0), "PVH module list");
            moduleCount = 1;
            moduleList = Layout.PvhModuleList;
        }

        var map = E820Map.ForRam(memory.Regions);
        byte[] memoryMap = PvhStartInfo.EncodeMemoryMap(map);
        if ((ulong)memoryMap.Length > Layout.BootMemoryMapSize)
        {
            throw new BootImageException($"memory map of {map.Entries.Count} entries does not fit the boot information page");
        }
        GuestRam.Write(memory, Layout.BootMemoryMap, memoryMap, "PVH memory map");

        var startInfo = new PvhStartInfo(
            ModuleCount: moduleCount,
            ModuleListAddress: moduleList,
            CommandLineAddress: commandLine,
            RsdpAddress: request.AcpiRsdp?.Value ?? 0,
            MemoryMapAddress: Layout.BootMemoryMap,
            MemoryMapEntries: (uint)map.Entries.Count);
        GuestRam.Write(memory, Layout.PvhStartInfo, startInfo.Encode(), "PVH start info");

        var registers = new BootRegisters(Rax: 0, Rbx: Layout.PvhStartInfo, Rsi: 0, Rsp: Layout.BootStackPointer, Rflags: BootRegisters.InitialRflags);
        return new BootEntry(BootCpuMode.Protected32, entry, registers, ProtectedModeSetup.Write(memory));
    }

    private static ulong AlignUp(ulong value) => (value + Layout.PageSize - 1) & ~(Layout.PageSize - 1);
}
