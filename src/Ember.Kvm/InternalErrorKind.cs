namespace Ember.Kvm;

/// <summary>KVM_INTERNAL_ERROR_* suberrors.</summary>
public enum InternalErrorKind : uint
{
    /// <summary>KVM's instruction emulator could not handle the instruction (data has the bytes on new kernels).</summary>
    Emulation = 1,
    SimulEx = 2,
    DeliveryEv = 3,
    UnexpectedExitReason = 4,
}
