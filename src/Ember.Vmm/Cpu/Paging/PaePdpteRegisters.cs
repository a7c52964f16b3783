namespace Ember.Vmm.Cpu.Paging;

/// <summary>The four PDPTE registers of PAE paging (Intel SDM vol. 3A §4.4.1), loaded by the CPU from memory on a CR3 write.</summary>
public readonly record struct PaePdpteRegisters(ulong Pdpte0, ulong Pdpte1, ulong Pdpte2, ulong Pdpte3)
{
    /// <summary>The PDPTE for linear-address bits 31:30 = <paramref name="index"/> (0–3).</summary>
    public ulong this[int index] => index switch
    {
        0 => Pdpte0,
        1 => Pdpte1,
        2 => Pdpte2,
        3 => Pdpte3,
        _ => throw new ArgumentOutOfRangeException(nameof(index), index, "a PAE PDPTE index is 0 to 3"),
    };
}
