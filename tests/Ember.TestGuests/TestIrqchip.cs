namespace Ember.TestGuests;

/// <summary>How a test VM's interrupt controllers are set up.</summary>
public enum TestIrqchip
{
    /// <summary>No in-kernel irqchip: interrupts only through KVM_INTERRUPT.</summary>
    None,
    /// <summary>KVM_CREATE_IRQCHIP: PIC, IOAPIC and LAPIC in the kernel.</summary>
    Kernel,
    /// <summary>KVM_CAP_SPLIT_IRQCHIP with 24 reserved IOAPIC routes: LAPIC in the kernel only.</summary>
    Split,
}
