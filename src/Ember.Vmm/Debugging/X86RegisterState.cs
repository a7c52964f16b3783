using Ember.Kvm;

namespace Ember.Vmm.Debugging;

/// <summary>
/// What GDB can see of one vCPU: KVM_GET_REGS, KVM_GET_SREGS (segments, control registers, EFER), KVM_GET_FPU and
/// the one MSR GDB shows (IA32_KERNEL_GS_BASE through KVM_GET_MSRS), read together while it is stopped.
/// </summary>
internal sealed class X86RegisterState
{
    public Registers General;
    public SpecialRegisters Special;
    public FpuState Fpu;

    /// <summary>IA32_KERNEL_GS_BASE; 0 where KVM does not give it (writing it then fails).</summary>
    public ulong KernelGsBase;

    /// <summary>Long mode and a 64-bit code segment: GDB's amd64 register set applies; otherwise the i386 one.</summary>
    public bool In64BitMode => (Special.Efer & LongModeActive) != 0 && Special.Cs.L != 0;

    private const ulong LongModeActive = 1 << 10;

    public X86RegisterState Clone() => (X86RegisterState)MemberwiseClone();
}
