namespace Ember.Kvm;

/// <summary>Which address space an ioeventfd watches: port I/O (KVM_IOEVENTFD_FLAG_PIO) or MMIO.</summary>
public enum IoEventAddressSpace
{
    Mmio = 0,
    Pio = 1,
}
