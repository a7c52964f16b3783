namespace Ember.Vmm.Boot;

/// <summary>
/// E820 address range types (ACPI 6.x §15 "System Address Map Interfaces", Table 15.1). PVH's
/// XEN_HVM_MEMMAP_TYPE_* and Multiboot's mmap types use the same numbers.
/// </summary>
public enum E820Type : uint
{
    /// <summary>AddressRangeMemory: usable RAM.</summary>
    Ram = 1,

    /// <summary>AddressRangeReserved: not to be used by the OS.</summary>
    Reserved = 2,

    /// <summary>AddressRangeACPI: holds ACPI tables; reclaimable after they are read.</summary>
    Acpi = 3,

    /// <summary>AddressRangeNVS: must be preserved across sleep.</summary>
    Nvs = 4,

    /// <summary>AddressRangeUnusable: detected errors.</summary>
    Unusable = 5,
}
