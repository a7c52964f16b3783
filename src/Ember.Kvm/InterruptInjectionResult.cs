namespace Ember.Kvm;

/// <summary>The documented outcomes of KVM_INTERRUPT (api.rst 4.16).</summary>
public enum InterruptInjectionResult
{
    Injected = 0,
    /// <summary>-EEXIST: an interrupt is already queued for injection; retry on the next exit.</summary>
    AlreadyQueued,
    /// <summary>-EINVAL: the vector is invalid (≥ 256).</summary>
    InvalidVector,
    /// <summary>-ENXIO: the PIC/LAPIC is in the kernel; KVM_INTERRUPT is for user-space irqchips only.</summary>
    IrqchipInKernel,
    /// <summary>-EFAULT: the argument pointer was invalid (never expected from Ember).</summary>
    BadAddress,
}
