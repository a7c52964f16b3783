namespace Ember.Vmm.Cpu.Paging;

/// <summary>A level of the paging-structure hierarchy, named after the kind of entry read there (Intel SDM vol. 3A §4.2).</summary>
public enum PagingLevel
{
    /// <summary>A PML5 entry (5-level paging only); maps 256 TiB, never a page.</summary>
    Pml5e,

    /// <summary>A PML4 entry (4- and 5-level paging); maps 512 GiB, never a page.</summary>
    Pml4e,

    /// <summary>A page-directory-pointer-table entry: one of PAE's four, or a long-mode one that may map a 1 GiB page.</summary>
    Pdpte,

    /// <summary>A page-directory entry; may map a 4 MiB (32-bit paging with CR4.PSE) or 2 MiB page.</summary>
    Pde,

    /// <summary>A page-table entry; maps a 4 KiB page.</summary>
    Pte,
}
