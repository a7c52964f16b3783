namespace Ember.Vmm.Machine;

/// <summary>Where the interrupt controllers live.</summary>
public enum IrqchipMode
{
    /// <summary>PIC, IOAPIC, PIT and LAPICs in the kernel (KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2).</summary>
    Kernel,
    /// <summary>LAPICs in the kernel; IOAPIC, PIC and PIT in Ember (KVM_CAP_SPLIT_IRQCHIP).</summary>
    Split,
    /// <summary>No in-kernel irqchip: Ember's PIC injects through KVM_INTERRUPT; one vCPU, no APIC.</summary>
    Userspace,
}
