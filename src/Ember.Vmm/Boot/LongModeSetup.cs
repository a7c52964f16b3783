using System.Buffers.Binary;
using Ember.Memory;

namespace Ember.Vmm.Boot;

/// <summary>
/// Prepares 64-bit long mode for a kernel entered by the Linux 64-bit boot protocol (boot.rst:
/// "the CPU must be in 64-bit mode with paging enabled … the range with setup_header.init_size
/// from start address of loaded kernel and zero page and command line buffer get ident mapping").
/// Writes identity-map page tables for the first 4 GiB using 2 MiB pages (supported by every
/// x86_64 CPU, unlike 1 GiB pages) and the boot GDT, and returns the register state to load.
/// </summary>
public static class LongModeSetup
{
    private const int EntriesPerTable = 512;
    private const int EntrySize = 8;
    private const ulong LargePageSize = 2 * Layout.OneMiB;

    public static BootCpuState Write(IGuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        const ulong tableFlags = X86ControlBits.PagePresent | X86ControlBits.PageWritable;

        // PML4[0] -> PDPT: covers 0-512 GiB; we only need the first 4 GiB of it.
        Span<byte> table = new byte[EntriesPerTable * EntrySize];
        BinaryPrimitives.WriteUInt64LittleEndian(table, Layout.Pdpt | tableFlags);
        GuestRam.Write(memory, Layout.Pml4, table, "PML4");

        // PDPT[i] -> page directory i, each covering 1 GiB.
        table.Clear();
        for (int i = 0; i < Layout.PageDirectoryCount; i++)
        {
            ulong directory = Layout.PageDirectories + (ulong)i * Layout.PageSize;
            BinaryPrimitives.WriteUInt64LittleEndian(table[(i * EntrySize)..], directory | tableFlags);
        }
        GuestRam.Write(memory, Layout.Pdpt, table, "PDPT");

        // PD entries map 2 MiB pages: physical == virtual for 0-4 GiB.
        for (int i = 0; i < Layout.PageDirectoryCount; i++)
        {
            for (int j = 0; j < EntriesPerTable; j++)
            {
                ulong physical = ((ulong)i * EntriesPerTable + (ulong)j) * LargePageSize;
                BinaryPrimitives.WriteUInt64LittleEndian(table[(j * EntrySize)..], physical | tableFlags | X86ControlBits.PageSize);
            }
            GuestRam.Write(memory, Layout.PageDirectories + (ulong)i * Layout.PageSize, table, "page directory");
        }

        var code = SegmentDescriptor.FlatCode64(BootGdt.CodeSelector);
        var data = SegmentDescriptor.FlatData(BootGdt.DataSelector);
        var task = SegmentDescriptor.BusyTss(BootGdt.TaskSelector);
        var gdt = BootGdt.Write(memory, code, data, task);

        return new BootCpuState(
            Cr0: X86ControlBits.Cr0ProtectionEnable | X86ControlBits.Cr0ExtensionType | X86ControlBits.Cr0Paging,
            Cr3: Layout.Pml4,
            Cr4: X86ControlBits.Cr4PhysicalAddressExtension,
            Efer: X86ControlBits.EferLongModeEnable | X86ControlBits.EferLongModeActive,
            Gdt: gdt,
            Idt: default,
            Code: code,
            Data: data,
            Task: task);
    }
}
