namespace Ember.Vmm.Cpu.Paging;

/// <summary>Why a linear address has no translation for an access.</summary>
public enum PageFaultReason
{
    /// <summary>A paging entry on the way has P clear.</summary>
    NotPresent,

    /// <summary>A present entry has a bit set that must be 0 (above MAXPHYADDR, XD without EFER.NXE, PS where no page can be, ...).</summary>
    ReservedBitSet,

    /// <summary>A paging structure lies (partly) outside guest RAM, so the entry cannot be read.</summary>
    TableOutsideRam,

    /// <summary>A write to a page some entry on the way marks read-only (R/W clear), by user code or with CR0.WP set.</summary>
    WriteToReadOnly,

    /// <summary>A user-mode access to a page some entry on the way reserves for the supervisor (U/S clear).</summary>
    UserAccessToSupervisor,

    /// <summary>An instruction fetch from a page some entry on the way marks no-execute (XD, with EFER.NXE).</summary>
    ExecuteDisabled,

    /// <summary>A supervisor instruction fetch from a user page while CR4.SMEP is set.</summary>
    SupervisorFetchFromUser,

    /// <summary>A supervisor data access to a user page while CR4.SMAP is set and EFLAGS.AC is clear.</summary>
    SupervisorAccessToUser,

    /// <summary>A long-mode linear address whose top bits are not copies of bit 47 (4-level) or bit 56 (5-level).</summary>
    NonCanonical,

    /// <summary>A linear address above 4 GiB outside long mode, or an access that runs past the top of the address space.</summary>
    OutsideLinearAddressSpace,

    /// <summary>The translation exists, but the physical page is not guest RAM (a hole, MMIO, beyond the end).</summary>
    PageOutsideRam,
}
