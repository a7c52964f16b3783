using System.Buffers.Binary;
using Ember.Memory;
using Ember.Vmm.Cpu.Paging;

namespace Ember.Vmm.Tests.Cpu.Paging;

/// <summary>
/// Builds a guest's page tables in guest memory for one paging mode, taking table pages one after another from
/// <c>tableArea</c>. Tables on the way to a page get P|R/W|U/S (P alone for PAE's PDPTEs), so the leaf's flags
/// decide the rights unless a test changes an entry on the way with <see cref="SetEntry"/>. Remembers what it
/// mapped, as the model the walker is checked against.
/// </summary>
internal sealed class GuestPageTables
{
    public const ulong Present = PagingBits.Present, Writable = PagingBits.Writable, User = PagingBits.User;
    public const ulong ReadWriteUser = Present | Writable | User;

    private readonly IGuestMemory _memory;
    private readonly ulong _tableAreaEnd;
    private readonly List<Mapping> _mappings = [];
    private ulong _nextTable;

    /// <summary>One page this builder mapped.</summary>
    public readonly record struct Mapping(ulong Linear, ulong Physical, ulong Size, ulong Flags)
    {
        public bool Contains(ulong linear) => linear - Linear < Size;
    }

    public GuestPageTables(IGuestMemory memory, PagingMode mode, ulong tableArea, ulong tableAreaSize)
    {
        if (mode == PagingMode.Disabled)
            throw new ArgumentException("paging is off: there are no tables to build", nameof(mode));
        _memory = memory;
        Mode = mode;
        _nextTable = tableArea;
        _tableAreaEnd = tableArea + tableAreaSize;
        // PAE's PDPT is only 32 bytes, but a whole page keeps the allocator simple.
        Root = AllocateTable();
    }

    public PagingMode Mode { get; }

    /// <summary>The physical address of the top table: what CR3 holds.</summary>
    public ulong Root { get; }

    public IReadOnlyList<Mapping> Mappings => _mappings;

    /// <summary>The table pages used so far end here.</summary>
    public ulong TablesEnd => _nextTable;

    private int EntrySize => Mode == PagingMode.ThirtyTwoBit ? 4 : 8;

    /// <summary>The levels of this mode, from the root.</summary>
    public IReadOnlyList<PagingLevel> Levels => Mode switch
    {
        PagingMode.ThirtyTwoBit => [PagingLevel.Pde, PagingLevel.Pte],
        PagingMode.Pae => [PagingLevel.Pdpte, PagingLevel.Pde, PagingLevel.Pte],
        PagingMode.FourLevel => [PagingLevel.Pml4e, PagingLevel.Pdpte, PagingLevel.Pde, PagingLevel.Pte],
        _ => [PagingLevel.Pml5e, PagingLevel.Pml4e, PagingLevel.Pdpte, PagingLevel.Pde, PagingLevel.Pte],
    };

    /// <summary>The page sizes this mode can map (1 GiB only in long mode; 4 MiB only in 32-bit paging with CR4.PSE).</summary>
    public IReadOnlyList<ulong> PageSizes => Mode switch
    {
        PagingMode.ThirtyTwoBit => [0x1000, 0x40_0000],
        PagingMode.Pae => [0x1000, 0x20_0000],
        _ => [0x1000, 0x20_0000, 0x4000_0000],
    };

    /// <summary>Maps <paramref name="linear"/> to <paramref name="physical"/> (both aligned to <paramref name="size"/>); throws if that overlaps an earlier mapping.</summary>
    public void Map(ulong linear, ulong physical, ulong size, ulong flags = ReadWriteUser)
    {
        if (!TryMap(linear, physical, size, flags))
            throw new InvalidOperationException($"0x{linear:x} (0x{size:x} bytes) overlaps an earlier mapping");
    }

    /// <summary>Maps one page, or returns false (writing nothing but maybe empty tables) when it would overlap an earlier one.</summary>
    public bool TryMap(ulong linear, ulong physical, ulong size, ulong flags = ReadWriteUser)
    {
        if ((linear & (size - 1)) != 0 || (physical & (size - 1)) != 0 || !PageSizes.Contains(size))
            throw new ArgumentException($"a {size:x}-byte page at 0x{linear:x} -> 0x{physical:x} is not aligned or not a page size of {Mode}");
        var leafLevel = LeafLevel(size);
        ulong table = Root;
        foreach (var level in Levels)
        {
            ulong entryAddress = table + Index(linear, level) * (ulong)EntrySize;
            ulong entry = ReadRaw(entryAddress);
            if (level == leafLevel)
            {
                if ((entry & Present) != 0)
                    return false;
                ulong pageBits = Mode == PagingMode.ThirtyTwoBit && size == 0x40_0000
                    ? (physical & 0xFFC0_0000) | (((physical >> 32) & 0xFF) << 13)  // PSE-36: bits 39:32 go to PDE bits 20:13
                    : physical;
                WriteRaw(entryAddress, pageBits | flags | (level == PagingLevel.Pte ? 0 : PagingBits.PageSize));
                _mappings.Add(new Mapping(linear, physical, size, flags));
                return true;
            }
            if ((entry & Present) == 0)
            {
                ulong next = AllocateTable();
                WriteRaw(entryAddress, next | (Mode == PagingMode.Pae && level == PagingLevel.Pdpte ? Present : ReadWriteUser));
                table = next;
            }
            else if ((entry & PagingBits.PageSize) != 0)
            {
                return false;  // a large page already covers this range (tables on the way never get PS)
            }
            else
            {
                table = entry & 0x000F_FFFF_FFFF_F000;
            }
        }
        throw new InvalidOperationException("unreachable: the leaf level is one of the mode's levels");
    }

    /// <summary>The mapping that covers <paramref name="linear"/>, if any.</summary>
    public Mapping? Find(ulong linear)
    {
        foreach (var mapping in _mappings)
        {
            if (mapping.Contains(linear))
                return mapping;
        }
        return null;
    }

    /// <summary>Where the <paramref name="level"/> entry for <paramref name="linear"/> lies; the tables above it must exist.</summary>
    public ulong EntryAddress(ulong linear, PagingLevel level)
    {
        ulong table = Root;
        foreach (var each in Levels)
        {
            ulong address = table + Index(linear, each) * (ulong)EntrySize;
            if (each == level)
                return address;
            ulong entry = ReadRaw(address);
            if ((entry & Present) == 0)
                throw new InvalidOperationException($"no {each} table on the way to 0x{linear:x}");
            table = entry & (Mode == PagingMode.ThirtyTwoBit ? 0xFFFF_F000UL : 0x000F_FFFF_FFFF_F000UL);
        }
        throw new ArgumentException($"{Mode} paging has no {level}", nameof(level));
    }

    public ulong GetEntry(ulong linear, PagingLevel level) => ReadRaw(EntryAddress(linear, level));

    /// <summary>Overwrites one entry on the way to <paramref name="linear"/> (to take a right away, set a reserved bit, ...).</summary>
    public void SetEntry(ulong linear, PagingLevel level, ulong value) => WriteRaw(EntryAddress(linear, level), value);

    public PagingLevel LeafLevel(ulong size) => size switch
    {
        0x1000 => PagingLevel.Pte,
        0x20_0000 or 0x40_0000 => PagingLevel.Pde,
        _ => PagingLevel.Pdpte,
    };

    private ulong Index(ulong linear, PagingLevel level) => Mode switch
    {
        PagingMode.ThirtyTwoBit => (linear >> (level == PagingLevel.Pde ? 22 : 12)) & 0x3FF,
        PagingMode.Pae when level == PagingLevel.Pdpte => (linear >> 30) & 3,
        _ => (linear >> level switch
        {
            PagingLevel.Pml5e => 48,
            PagingLevel.Pml4e => 39,
            PagingLevel.Pdpte => 30,
            PagingLevel.Pde => 21,
            _ => 12,
        }) & 0x1FF,
    };

    private ulong AllocateTable()
    {
        ulong table = _nextTable;
        if (table + 0x1000 > _tableAreaEnd)
            throw new InvalidOperationException("the page-table area is full");
        _nextTable += 0x1000;
        _memory.Write(new GuestAddress(table), new byte[0x1000]);
        return table;
    }

    private ulong ReadRaw(ulong address)
    {
        Span<byte> bytes = stackalloc byte[8];
        _memory.Read(new GuestAddress(address), bytes[..EntrySize]);
        return EntrySize == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : BinaryPrimitives.ReadUInt64LittleEndian(bytes);
    }

    private void WriteRaw(ulong address, ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        _memory.Write(new GuestAddress(address), bytes[..EntrySize]);
    }
}
