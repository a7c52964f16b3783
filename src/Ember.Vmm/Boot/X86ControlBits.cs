namespace Ember.Vmm.Boot;

/// <summary>Control register and EFER bits the boot paths set (Intel SDM vol. 3 §2.5, §2.2.1).</summary>
public static class X86ControlBits
{
    /// <summary>CR0.PE: protected mode.</summary>
    public const ulong Cr0ProtectionEnable = 1UL << 0;

    /// <summary>CR0.ET: extension type, hardwired to 1 since the i486.</summary>
    public const ulong Cr0ExtensionType = 1UL << 4;

    /// <summary>CR0.PG: paging.</summary>
    public const ulong Cr0Paging = 1UL << 31;

    /// <summary>CR4.PAE: physical address extension, required for long mode.</summary>
    public const ulong Cr4PhysicalAddressExtension = 1UL << 5;

    /// <summary>EFER.LME: long mode enable.</summary>
    public const ulong EferLongModeEnable = 1UL << 8;

    /// <summary>EFER.LMA: long mode active (set by the CPU when PG is turned on with LME; KVM wants it given).</summary>
    public const ulong EferLongModeActive = 1UL << 10;

    /// <summary>Page-table entry: present.</summary>
    public const ulong PagePresent = 1UL << 0;

    /// <summary>Page-table entry: writable.</summary>
    public const ulong PageWritable = 1UL << 1;

    /// <summary>Page-directory entry: maps a large (2 MiB) page instead of pointing at a page table.</summary>
    public const ulong PageSize = 1UL << 7;
}
