using Ember.Memory;

namespace Ember.Vmm.Boot;

/// <summary>
/// The guest's physical memory map as firmware would report it through INT 15h E820, shared by
/// the three boot protocols (zero page e820_table, PVH memmap, Multiboot mmap). Sorted by address,
/// never overlapping.
/// </summary>
public sealed class E820Map
{
    /// <summary>E820_MAX_ENTRIES_ZEROPAGE (bootparam.h): the zero page has room for 128 entries.</summary>
    public const int MaxEntries = 128;

    public E820Map(IEnumerable<E820Entry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var sorted = entries.Where(e => e.Size != 0).OrderBy(e => e.Address).ToArray();
        for (int i = 0; i < sorted.Length; i++)
        {
            if (sorted[i].Size > ulong.MaxValue - sorted[i].Address)
            {
                throw new ArgumentException($"E820 entry at 0x{sorted[i].Address:x} overflows", nameof(entries));
            }
            if (i > 0 && sorted[i].Address < sorted[i - 1].End)
            {
                throw new ArgumentException($"E820 entries at 0x{sorted[i - 1].Address:x} and 0x{sorted[i].Address:x} overlap", nameof(entries));
            }
        }
        if (sorted.Length > MaxEntries)
        {
            throw new ArgumentException($"{sorted.Length} E820 entries exceed the zero page's {MaxEntries}", nameof(entries));
        }
        Entries = sorted;
    }

    public IReadOnlyList<E820Entry> Entries { get; }

    /// <summary>
    /// The standard PC map for the given RAM: RAM entries with the legacy area
    /// [<see cref="Layout.EbdaStart"/>, 1 MiB) cut out and reported reserved (EBDA, VGA window,
    /// option ROMs and the BIOS/ACPI area 0xE0000-0xFFFFF). Linux still finds the ACPI tables
    /// there, by the RSDP pointer or by scanning the BIOS area, whatever the range type.
    /// </summary>
    public static E820Map ForRam(IReadOnlyList<GuestMemoryRegion> ram)
    {
        ArgumentNullException.ThrowIfNull(ram);
        var entries = new List<E820Entry>();
        foreach (var region in ram)
        {
            ulong start = region.Start.Value;
            ulong end = region.End;
            if (start < Layout.EbdaStart)
            {
                entries.Add(new E820Entry(start, Math.Min(end, Layout.EbdaStart) - start, E820Type.Ram));
            }
            if (end > Layout.HighMemoryStart)
            {
                ulong highStart = Math.Max(start, Layout.HighMemoryStart);
                entries.Add(new E820Entry(highStart, end - highStart, E820Type.Ram));
            }
        }
        entries.Add(new E820Entry(Layout.EbdaStart, Layout.HighMemoryStart - Layout.EbdaStart, E820Type.Reserved));
        return new E820Map(entries);
    }
}
