namespace Ember.Vmm.Cpu.Paging;

/// <summary>One paging-structure entry read during a walk: its level, where it lies in guest physical memory, and its value.</summary>
public readonly record struct PagingEntry(PagingLevel Level, ulong Address, ulong Value)
{
    /// <summary>The level as the Intel SDM spells it: "PML4E", "PDPTE", "PDE", ...</summary>
    public static string NameOf(PagingLevel level) => level switch
    {
        PagingLevel.Pml5e => "PML5E",
        PagingLevel.Pml4e => "PML4E",
        PagingLevel.Pdpte => "PDPTE",
        PagingLevel.Pde => "PDE",
        PagingLevel.Pte => "PTE",
        _ => level.ToString(),
    };

    public override string ToString() => $"{NameOf(Level)} at 0x{Address:x} = 0x{Value:x}";
}
