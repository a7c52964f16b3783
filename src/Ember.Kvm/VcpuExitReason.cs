namespace Ember.Kvm;

/// <summary>KVM_EXIT_* (include/uapi/linux/kvm.h): why KVM_RUN returned.</summary>
public enum VcpuExitReason : uint
{
    Unknown = 0,
    Exception = 1,
    Io = 2,
    Hypercall = 3,
    Debug = 4,
    Hlt = 5,
    Mmio = 6,
    IrqWindowOpen = 7,
    Shutdown = 8,
    FailEntry = 9,
    /// <summary>KVM_EXIT_INTR, and also what Ember reports when KVM_RUN returned EINTR (a signal or immediate_exit).</summary>
    Interrupted = 10,
    SetTpr = 11,
    TprAccess = 12,
    Nmi = 16,
    InternalError = 17,
    SystemEvent = 24,
    IoapicEoi = 26,
    HyperV = 27,
    X86ReadMsr = 29,
    X86WriteMsr = 30,
}
