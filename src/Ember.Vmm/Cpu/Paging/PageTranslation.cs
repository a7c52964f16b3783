namespace Ember.Vmm.Cpu.Paging;

/// <summary>
/// Where a linear address lands: its physical address, the page that holds it, the entry that mapped that page,
/// and the rights that every entry on the way grants together (Intel SDM vol. 3A §4.6: a right holds only if
/// all entries grant it). Each right that is missing names the first entry, from the root, that took it away.
/// </summary>
public readonly record struct PageTranslation
{
    public required ulong LinearAddress { get; init; }

    public required ulong PhysicalAddress { get; init; }

    /// <summary>4 KiB, 2 MiB, 4 MiB or 1 GiB; 4 KiB with paging off.</summary>
    public required ulong PageSize { get; init; }

    /// <summary>The entry that mapped the page (a PTE, or a PDE/PDPTE with PS set); null with paging off.</summary>
    public PagingEntry? Leaf { get; init; }

    /// <summary>The first entry with R/W clear; null when the page is writable at every level.</summary>
    public PagingEntry? ReadOnlyEntry { get; init; }

    /// <summary>The first entry with U/S clear; null when the page is a user page (U/S set at every level).</summary>
    public PagingEntry? SupervisorEntry { get; init; }

    /// <summary>The first entry with XD set (with EFER.NXE); null when instructions may be fetched from the page.</summary>
    public PagingEntry? NoExecuteEntry { get; init; }

    public bool Writable => ReadOnlyEntry is null;

    /// <summary>True for a user-mode page (U/S set in every entry), which user code may touch and SMEP/SMAP keep the kernel from.</summary>
    public bool UserAccessible => SupervisorEntry is null;

    public bool Executable => NoExecuteEntry is null;

    /// <summary>The physical address of the first byte of the page.</summary>
    public ulong PageBase => PhysicalAddress & ~(PageSize - 1);

    public override string ToString() =>
        $"linear 0x{LinearAddress:x} -> physical 0x{PhysicalAddress:x} ({PageSize / 1024} KiB page{(Leaf is { } l ? $", {l}" : "")}, "
        + $"{(Writable ? "rw" : "ro")}, {(UserAccessible ? "user" : "supervisor")}{(Executable ? "" : ", nx")})";
}
