namespace Ember.Vmm.Cpu.Paging;

/// <summary>Whose access a translation is checked for.</summary>
public enum AccessPrivilege
{
    /// <summary>CPL 0–2 (the guest kernel): CR0.WP, CR4.SMEP and CR4.SMAP apply (Intel SDM vol. 3A §4.6.1).</summary>
    Supervisor,

    /// <summary>CPL 3: every entry on the way must have U/S set, and R/W for a write, whatever CR0.WP says.</summary>
    User,

    /// <summary>
    /// A debugger's look at memory: the translation must exist, but no right is checked, as a hardware probe sees
    /// memory (a breakpoint goes into read-only kernel text this way). Never what the guest itself could do.
    /// </summary>
    Debugger,
}
