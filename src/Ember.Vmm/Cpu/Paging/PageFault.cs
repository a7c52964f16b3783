namespace Ember.Vmm.Cpu.Paging;

/// <summary>
/// Why a linear address could not be translated or accessed: the address, the reason and, where one entry is
/// to blame, that entry (its level, guest physical address and value). For <see cref="PageFaultReason.PageOutsideRam"/>
/// <see cref="PhysicalAddress"/> is the page's physical address; for a fault before any entry (non-canonical) both are null.
/// </summary>
public readonly record struct PageFault(ulong LinearAddress, PageFaultReason Reason, PagingEntry? Entry = null, ulong? PhysicalAddress = null)
{
    /// <summary>The level that faulted, or null when no entry is to blame (non-canonical, paging off).</summary>
    public PagingLevel? Level => Entry?.Level;

    /// <summary>One line for a log or a debugger: "linear 0x401000: PDE at 0x9008 is not present (0x0)".</summary>
    public override string ToString()
    {
        string at = Entry is { } e ? $"{PagingEntry.NameOf(e.Level)} at 0x{e.Address:x}" : "";
        string value = Entry is { } v ? $" (0x{v.Value:x})" : "";
        string why = Reason switch
        {
            PageFaultReason.NotPresent => $"{at} is not present{value}",
            PageFaultReason.ReservedBitSet => $"{at} has reserved bits set{value}",
            PageFaultReason.TableOutsideRam => $"{at} lies outside guest RAM",
            PageFaultReason.WriteToReadOnly => $"write to a read-only page (R/W clear in the {at}{value})",
            PageFaultReason.UserAccessToSupervisor => $"user access to a supervisor page (U/S clear in the {at}{value})",
            PageFaultReason.ExecuteDisabled => $"instruction fetch from a no-execute page (XD set in the {at}{value})",
            PageFaultReason.SupervisorFetchFromUser => "supervisor instruction fetch from a user page (CR4.SMEP)",
            PageFaultReason.SupervisorAccessToUser => "supervisor data access to a user page (CR4.SMAP with EFLAGS.AC clear)",
            PageFaultReason.NonCanonical => "not canonical (the bits above the linear-address width must copy its top bit)",
            PageFaultReason.OutsideLinearAddressSpace => "outside the linear address space",
            PageFaultReason.PageOutsideRam => $"maps physical 0x{PhysicalAddress ?? 0:x}, which is not guest RAM" + (Entry is null ? "" : $" ({at})"),
            _ => Reason.ToString(),
        };
        return $"linear 0x{LinearAddress:x}: {why}";
    }
}
