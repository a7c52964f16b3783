namespace Ember.Vmm.Cpu.Paging;

/// <summary>What an access does with the bytes it reaches; decides which rights the paging entries must grant (Intel SDM vol. 3A §4.6).</summary>
public enum PageAccessKind
{
    Read,
    Write,

    /// <summary>An instruction fetch: refused by an XD bit (with EFER.NXE) or, for supervisor fetches from user pages, CR4.SMEP.</summary>
    Execute,
}
