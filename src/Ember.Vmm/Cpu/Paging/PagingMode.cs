namespace Ember.Vmm.Cpu.Paging;

/// <summary>
/// How a vCPU turns linear addresses into physical ones, chosen by CR0.PG, CR4.PAE, IA32_EFER.LMA and CR4.LA57
/// (Intel SDM vol. 3A §4.1.1, table 4-1).
/// </summary>
public enum PagingMode
{
    /// <summary>CR0.PG = 0 (real mode, or protected mode without paging): the linear address is the physical one.</summary>
    Disabled,

    /// <summary>CR0.PG = 1, CR4.PAE = 0: a page directory and page tables of 32-bit entries; 4 KiB and (CR4.PSE) 4 MiB pages (§4.3).</summary>
    ThirtyTwoBit,

    /// <summary>CR0.PG = 1, CR4.PAE = 1, EFER.LMA = 0: four PDPTEs, then 64-bit entries; 4 KiB and 2 MiB pages (§4.4).</summary>
    Pae,

    /// <summary>Long mode, CR4.LA57 = 0: PML4, PDPT, PD, PT; 48-bit canonical linear addresses; 4 KiB, 2 MiB and 1 GiB pages (§4.5).</summary>
    FourLevel,

    /// <summary>Long mode, CR4.LA57 = 1: a PML5 above the PML4; 57-bit canonical linear addresses (§4.5).</summary>
    FiveLevel,
}
