using System.Buffers.Binary;
using Ember.Memory;

namespace Ember.Vmm.Cpu.Paging;

/// <summary>
/// Translates a linear address the way the CPU does, in software, from a <see cref="PagingState"/> and the page
/// tables in guest memory (Intel SDM vol. 3A chapter 4): no paging, 32-bit paging (4 KiB and CR4.PSE 4 MiB pages),
/// PAE (four PDPTEs, 2 MiB pages), and 4- and 5-level paging (2 MiB and 1 GiB pages, canonical addresses).
/// Unlike KVM_TRANSLATE it says which entry faulted and why, the page size, and the rights for a given access.
/// </summary>
/// <remarks>
/// Threat model: the tables are the guest's and may hold anything. Every entry is read through
/// <see cref="IGuestMemory"/>'s bounds checks, so a table outside RAM is a <see cref="PageFaultReason.TableOutsideRam"/>
/// fault, never an exception; entry addresses are built from at most 52 address bits plus an index, so they cannot
/// wrap; a walk reads at most five entries, so a table that points at itself cannot loop. Reserved bits are checked
/// as the SDM lists them (tables 4-4 to 4-20; the 4 MiB PDE with PSE-36 up to 40 bits), so a walk faults where the
/// CPU's would. The walk only reads: it sets no accessed or dirty bit, and no TLB is modelled (a guest that changed
/// an entry without INVLPG may still be using the old translation).
/// </remarks>
public static class PageWalker
{
    /// <summary>The smallest page: the unit a multi-page access is split into.</summary>
    public const ulong BasePageSize = 0x1000;

    private const ulong LargePage2MiB = 0x20_0000, LargePage4MiB = 0x40_0000, HugePage1GiB = 0x4000_0000;

    /// <summary>Walks <paramref name="linearAddress"/> and checks the rights for <paramref name="access"/>.</summary>
    public static bool TryTranslate(PagingState state, IGuestMemory memory, ulong linearAddress, PageAccess access,
        out PageTranslation translation, out PageFault fault)
    {
        if (!TryWalk(state, memory, linearAddress, out translation, out fault))
            return false;
        return CheckAccess(state, translation, access, out fault);
    }

    /// <summary>
    /// Walks the paging structures for <paramref name="linearAddress"/> without checking any right: fails only when
    /// the address has no translation at all (not present, reserved bit, table outside RAM, non-canonical).
    /// </summary>
    public static bool TryWalk(PagingState state, IGuestMemory memory, ulong linearAddress, out PageTranslation translation, out PageFault fault)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(memory);
        translation = default;
        fault = default;
        var mode = state.Mode;
        if ((mode is PagingMode.Disabled or PagingMode.ThirtyTwoBit or PagingMode.Pae) && linearAddress > uint.MaxValue)
        {
            // Outside long mode linear addresses are 32 bits wide (Intel SDM vol. 3A §3.3.1).
            fault = new PageFault(linearAddress, PageFaultReason.OutsideLinearAddressSpace);
            return false;
        }
        return mode switch
        {
            PagingMode.Disabled => Identity(linearAddress, out translation),
            PagingMode.ThirtyTwoBit => TryWalk32(state, memory, linearAddress, out translation, out fault),
            _ => TryWalk64(state, memory, linearAddress, mode, out translation, out fault),
        };
    }

    /// <summary>
    /// Checks that <paramref name="translation"/> allows <paramref name="access"/> (Intel SDM vol. 3A §4.6.1).
    /// A refusal names the first entry that took the right away; SMEP and SMAP name the leaf. With paging off,
    /// or for <see cref="AccessPrivilege.Debugger"/>, everything is allowed.
    /// </summary>
    public static bool CheckAccess(PagingState state, in PageTranslation translation, PageAccess access, out PageFault fault)
    {
        ArgumentNullException.ThrowIfNull(state);
        fault = default;
        if (access.Privilege == AccessPrivilege.Debugger || translation.Leaf is not { } leaf)
            return true;
        ulong linear = translation.LinearAddress;
        if (access.Privilege == AccessPrivilege.User)
        {
            if (!translation.UserAccessible)
                return Refuse(linear, PageFaultReason.UserAccessToSupervisor, translation.SupervisorEntry, out fault);
            if (access.Kind == PageAccessKind.Write && !translation.Writable)
                return Refuse(linear, PageFaultReason.WriteToReadOnly, translation.ReadOnlyEntry, out fault);
            if (access.Kind == PageAccessKind.Execute && !translation.Executable)
                return Refuse(linear, PageFaultReason.ExecuteDisabled, translation.NoExecuteEntry, out fault);
            return true;
        }
        if (access.Kind == PageAccessKind.Execute)
        {
            if (!translation.Executable)
                return Refuse(linear, PageFaultReason.ExecuteDisabled, translation.NoExecuteEntry, out fault);
            if (state.Smep && translation.UserAccessible)
                return Refuse(linear, PageFaultReason.SupervisorFetchFromUser, leaf, out fault);
            return true;
        }
        // SMAP: an explicit supervisor data access to a user page needs EFLAGS.AC (implicit accesses are not modelled).
        if (state.Smap && translation.UserAccessible && !state.AlignmentCheck)
            return Refuse(linear, PageFaultReason.SupervisorAccessToUser, leaf, out fault);
        // With CR0.WP clear the supervisor writes to read-only pages (§4.6.1).
        if (access.Kind == PageAccessKind.Write && state.WriteProtect && !translation.Writable)
            return Refuse(linear, PageFaultReason.WriteToReadOnly, translation.ReadOnlyEntry, out fault);
        return true;
    }

    private static bool Refuse(ulong linear, PageFaultReason reason, PagingEntry? entry, out PageFault fault)
    {
        fault = new PageFault(linear, reason, entry);
        return false;
    }

    private static bool Identity(ulong linearAddress, out PageTranslation translation)
    {
        translation = new PageTranslation { LinearAddress = linearAddress, PhysicalAddress = linearAddress, PageSize = BasePageSize };
        return true;
    }

    /// <summary>32-bit paging (Intel SDM vol. 3A §4.3): CR3 → page directory (bits 31:22) → page table (bits 21:12).</summary>
    private static bool TryWalk32(PagingState state, IGuestMemory memory, ulong linear, out PageTranslation translation, out PageFault fault)
    {
        translation = default;
        var rights = new RightsOnTheWay();
        ulong directory = state.Cr3 & 0xFFFF_F000;
        if (!TryReadEntry(memory, linear, PagingLevel.Pde, directory + ((linear >> 22) & 0x3FF) * 4, entrySize: 4, out var pde, out fault))
            return false;
        rights.Add(pde, hasExecuteDisable: false);
        if (state.PageSizeExtensions && (pde.Value & PagingBits.PageSize) != 0)
        {
            // A 4 MiB page: PDE bits 20:13 are physical bits 39:32 (PSE-36); those beyond MAXPHYADDR (at most 40 here) and bit 21 are reserved (table 4-4).
            int width = Math.Min(state.Features.PhysicalAddressBits, 40);
            if ((pde.Value & PagingBits.Range(width - 19, 21)) != 0)
                return Reserved(linear, pde, out fault);
            ulong pageBase = (pde.Value & 0xFFC0_0000) | (((pde.Value >> 13) & 0xFF) << 32);
            translation = rights.Translation(linear, pageBase, LargePage4MiB, pde);
            return true;
        }
        ulong table = pde.Value & 0xFFFF_F000;
        if (!TryReadEntry(memory, linear, PagingLevel.Pte, table + ((linear >> 12) & 0x3FF) * 4, entrySize: 4, out var pte, out fault))
            return false;
        rights.Add(pte, hasExecuteDisable: false);
        translation = rights.Translation(linear, pte.Value & 0xFFFF_F000, BasePageSize, pte);
        return true;
    }

    /// <summary>PAE (§4.4), 4-level and 5-level paging (§4.5): 64-bit entries, 9 index bits per level (2 for PAE's PDPT).</summary>
    private static bool TryWalk64(PagingState state, IGuestMemory memory, ulong linear, PagingMode mode, out PageTranslation translation, out PageFault fault)
    {
        translation = default;
        fault = default;
        bool pae = mode == PagingMode.Pae;
        if (!pae && !IsCanonical(linear, mode == PagingMode.FiveLevel ? 57 : 48))
        {
            fault = new PageFault(linear, PageFaultReason.NonCanonical);
            return false;
        }
        int width = state.Features.PhysicalAddressBits;
        ulong addressBits = PagingBits.Range(12, width - 1);
        // Bits above MAXPHYADDR are reserved: up to 51 in long mode (52-62 are ignored or protection keys), up to 62 in PAE.
        ulong highReserved = pae ? PagingBits.Range(width, 62) : PagingBits.Range(width, 51);
        ulong executeDisableReserved = state.NoExecuteEnabled ? 0 : PagingBits.ExecuteDisable;
        var level = mode switch
        {
            PagingMode.FiveLevel => PagingLevel.Pml5e,
            PagingMode.FourLevel => PagingLevel.Pml4e,
            _ => PagingLevel.Pdpte,
        };
        // PAE's CR3 holds a 32-byte-aligned PDPT below 4 GiB (bits 31:5); long mode's a page-aligned table (bits M-1:12).
        ulong table = pae ? state.Cr3 & 0xFFFF_FFE0 : state.Cr3 & addressBits;
        var rights = new RightsOnTheWay();
        while (true)
        {
            bool paePdpte = pae && level == PagingLevel.Pdpte;
            ulong index = (linear >> Shift(level)) & (paePdpte ? 3UL : 0x1FF);
            ulong entryAddress = table + index * 8;
            PagingEntry entry;
            if (paePdpte && state.PaePdptes is { } registers)
            {
                entry = new PagingEntry(level, entryAddress, registers[(int)index]);
                if ((entry.Value & PagingBits.Present) == 0)
                    return NotPresent(linear, entry, out fault);
            }
            else if (!TryReadEntry(memory, linear, level, entryAddress, entrySize: 8, out entry, out fault))
            {
                return false;
            }
            ulong value = entry.Value;
            bool mapsPage = level == PagingLevel.Pte
                || ((value & PagingBits.PageSize) != 0 && (level == PagingLevel.Pde || (level == PagingLevel.Pdpte && !pae)));
            ulong reserved = paePdpte
                // PAE PDPTEs have no rights bits: 2:1 and 8:5 are reserved, and so is everything from MAXPHYADDR up (table 4-8).
                ? PagingBits.Range(width, 63) | PagingBits.Range(5, 8) | PagingBits.Range(1, 2)
                : highReserved | executeDisableReserved | level switch
                {
                    PagingLevel.Pml5e or PagingLevel.Pml4e => PagingBits.PageSize,
                    PagingLevel.Pdpte when mapsPage => state.Features.Supports1GiBPages ? PagingBits.Range(13, 29) : PagingBits.PageSize,
                    PagingLevel.Pde when mapsPage => PagingBits.Range(13, 20),
                    _ => 0,
                };
            if ((value & reserved) != 0)
                return Reserved(linear, entry, out fault);
            if (!paePdpte)
                rights.Add(entry, hasExecuteDisable: state.NoExecuteEnabled);
            if (mapsPage)
            {
                ulong pageSize = level switch
                {
                    PagingLevel.Pte => BasePageSize,
                    PagingLevel.Pde => LargePage2MiB,
                    _ => HugePage1GiB,
                };
                translation = rights.Translation(linear, value & addressBits & ~(pageSize - 1), pageSize, entry);
                return true;
            }
            table = value & addressBits;
            level++;
        }
    }

    private static int Shift(PagingLevel level) => level switch
    {
        PagingLevel.Pml5e => 48,
        PagingLevel.Pml4e => 39,
        PagingLevel.Pdpte => 30,
        PagingLevel.Pde => 21,
        _ => 12,
    };

    /// <summary>Bits 63:<paramref name="width"/>-1 all equal (Intel SDM vol. 1 §3.3.7.1).</summary>
    private static bool IsCanonical(ulong linear, int width)
    {
        int unused = 64 - width;
        return (ulong)(((long)linear << unused) >> unused) == linear;
    }

    /// <summary>Reads one entry; a table outside RAM or a clear P bit is a fault at that level.</summary>
    private static bool TryReadEntry(IGuestMemory memory, ulong linear, PagingLevel level, ulong address, int entrySize,
        out PagingEntry entry, out PageFault fault)
    {
        Span<byte> bytes = stackalloc byte[8];
        bytes = bytes[..entrySize];
        if (!memory.TryRead(new GuestAddress(address), bytes))
        {
            entry = new PagingEntry(level, address, 0);
            fault = new PageFault(linear, PageFaultReason.TableOutsideRam, entry, address);
            return false;
        }
        ulong value = entrySize == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        entry = new PagingEntry(level, address, value);
        if ((value & PagingBits.Present) == 0)
            return NotPresent(linear, entry, out fault);
        fault = default;
        return true;
    }

    private static bool NotPresent(ulong linear, PagingEntry entry, out PageFault fault)
    {
        fault = new PageFault(linear, PageFaultReason.NotPresent, entry);
        return false;
    }

    private static bool Reserved(ulong linear, PagingEntry entry, out PageFault fault)
    {
        fault = new PageFault(linear, PageFaultReason.ReservedBitSet, entry);
        return false;
    }

    /// <summary>The rights the entries read so far grant together, each missing one remembered by the first entry that removed it.</summary>
    private struct RightsOnTheWay
    {
        private PagingEntry? _readOnly, _supervisor, _noExecute;

        public void Add(PagingEntry entry, bool hasExecuteDisable)
        {
            if ((entry.Value & PagingBits.Writable) == 0)
                _readOnly ??= entry;
            if ((entry.Value & PagingBits.User) == 0)
                _supervisor ??= entry;
            if (hasExecuteDisable && (entry.Value & PagingBits.ExecuteDisable) != 0)
                _noExecute ??= entry;
        }

        public readonly PageTranslation Translation(ulong linear, ulong pageBase, ulong pageSize, PagingEntry leaf) => new()
        {
            LinearAddress = linear,
            PhysicalAddress = pageBase | (linear & (pageSize - 1)),
            PageSize = pageSize,
            Leaf = leaf,
            ReadOnlyEntry = _readOnly,
            SupervisorEntry = _supervisor,
            NoExecuteEntry = _noExecute,
        };
    }
}
