namespace Ember.Vmm.Cpu.Paging;

/// <summary>The control-register and paging-entry bits the walker reads (Intel SDM vol. 3A §2.5, §4.1, tables 4-4 to 4-20).</summary>
public static class PagingBits
{
    /// <summary>CR0.PE: protected mode.</summary>
    public const ulong Cr0ProtectionEnable = 1UL << 0;

    /// <summary>CR0.WP: supervisor writes honour R/W (§4.6.1).</summary>
    public const ulong Cr0WriteProtect = 1UL << 16;

    /// <summary>CR0.PG: paging.</summary>
    public const ulong Cr0Paging = 1UL << 31;

    /// <summary>CR4.PSE: 4 MiB pages in 32-bit paging.</summary>
    public const ulong Cr4PageSizeExtensions = 1UL << 4;

    /// <summary>CR4.PAE: 64-bit entries (PAE, 4- and 5-level paging).</summary>
    public const ulong Cr4PhysicalAddressExtension = 1UL << 5;

    /// <summary>CR4.LA57: 5-level paging in long mode.</summary>
    public const ulong Cr4La57 = 1UL << 12;

    /// <summary>CR4.SMEP: no supervisor instruction fetch from user pages.</summary>
    public const ulong Cr4Smep = 1UL << 20;

    /// <summary>CR4.SMAP: no supervisor data access to user pages unless EFLAGS.AC is set.</summary>
    public const ulong Cr4Smap = 1UL << 21;

    /// <summary>IA32_EFER.LMA: long mode active.</summary>
    public const ulong EferLongModeActive = 1UL << 10;

    /// <summary>IA32_EFER.NXE: the XD bit (63) of 64-bit entries means no-execute; otherwise it is reserved.</summary>
    public const ulong EferNoExecuteEnable = 1UL << 11;

    /// <summary>EFLAGS.AC: with CR4.SMAP, lets explicit supervisor data accesses reach user pages.</summary>
    public const ulong RflagsAlignmentCheck = 1UL << 18;

    /// <summary>Entry bit 0, P: the entry is used; with it clear every other bit is ignored.</summary>
    public const ulong Present = 1UL << 0;

    /// <summary>Entry bit 1, R/W: writes allowed (reserved in PAE PDPTEs).</summary>
    public const ulong Writable = 1UL << 1;

    /// <summary>Entry bit 2, U/S: user-mode accesses allowed (reserved in PAE PDPTEs).</summary>
    public const ulong User = 1UL << 2;

    /// <summary>Entry bit 7, PS: a PDE or long-mode PDPTE maps a page instead of pointing at a table.</summary>
    public const ulong PageSize = 1UL << 7;

    /// <summary>Entry bit 63, XD: no instruction fetch (64-bit entries with EFER.NXE).</summary>
    public const ulong ExecuteDisable = 1UL << 63;

    /// <summary>The widest physical address architecture allows (MAXPHYADDR ≤ 52, §4.1.4).</summary>
    public const int MaxPhysicalAddressBits = 52;

    /// <summary>Bits <paramref name="low"/> to <paramref name="high"/> inclusive; empty when high &lt; low.</summary>
    public static ulong Range(int low, int high) =>
        high < low ? 0 : (ulong.MaxValue >> (63 - high)) & (ulong.MaxValue << low);
}
