namespace Ember.Kvm;

/// <summary>KVM_EXIT_IO_IN / KVM_EXIT_IO_OUT.</summary>
public enum IoDirection : byte
{
    In = 0,
    Out = 1,
}
