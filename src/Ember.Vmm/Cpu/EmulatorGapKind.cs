namespace Ember.Vmm.Cpu;

/// <summary>
/// Instructions a software KVM's emulator may fail on in guest kernel mode (kvm_pvm's gaps, docs/host-quirks.md).
/// Hardware KVM runs all of them natively, so on it none of these ever reaches Ember.
/// </summary>
public enum EmulatorGapKind
{
    /// <summary><c>int3</c> (CC): a #BP trap.</summary>
    Int3,
    /// <summary><c>int n</c> (CD ib).</summary>
    IntN,
    /// <summary><c>ud2</c> (0F 0B): a #UD fault, how Linux raises BUG() and WARN().</summary>
    Ud2,
    /// <summary><c>fwait</c> (9B): waits for pending x87 exceptions; #NM when CR0.MP and CR0.TS are set.</summary>
    Fwait,
    /// <summary><c>popcnt r, r/m</c> (F3 [REX] 0F B8 /r).</summary>
    Popcnt,
    /// <summary><c>clac</c> (0F 01 CA): clears RFLAGS.AC.</summary>
    Clac,
    /// <summary><c>stac</c> (0F 01 CB): sets RFLAGS.AC.</summary>
    Stac,
    /// <summary><c>cmpxchg16b m128</c> (REX.W 0F C7 /1).</summary>
    Cmpxchg16b,
    /// <summary><c>ldmxcsr m32</c> (0F AE /2).</summary>
    Ldmxcsr,
    /// <summary><c>stmxcsr m32</c> (0F AE /3).</summary>
    Stmxcsr,
    /// <summary><c>xsave m</c> (0F AE /4).</summary>
    Xsave,
    /// <summary><c>xrstor m</c> (0F AE /5).</summary>
    Xrstor,
}
