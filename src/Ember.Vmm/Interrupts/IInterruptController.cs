using Ember.Devices.Bus;
using Ember.Devices.Interrupts;
using Ember.Kvm;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Interrupts;

/// <summary>
/// The machine's interrupt wiring for one <see cref="IrqchipMode"/>. Devices only ever see the
/// <see cref="IInterruptLine"/>s handed out here; whether a line is KVM_IRQ_LINE, a user-space
/// IOAPIC pin behind an irqfd, or a PIC input injected with KVM_INTERRUPT is this class's business.
/// </summary>
public interface IInterruptController : IDisposable
{
    IrqchipMode Mode { get; }

    /// <summary>Creates whatever lives in the kernel. Called once, after the VM exists and before any vCPU.</summary>
    void CreateBeforeVcpus();

    /// <summary>Per-vCPU setup once the vCPU exists (LAPIC LINT pins, ...).</summary>
    void ConfigureVcpu(VirtualCpu vcpu);

    /// <summary>Registers the user-space controllers' registers (PIC, IOAPIC, PIT) on the buses, if any.</summary>
    void RegisterDevices(DeviceBus pio, DeviceBus mmio);

    /// <summary>ISA/GSI line <paramref name="irq"/> (0–23) as the MADT describes it (IRQ0 reaches IOAPIC pin 2).</summary>
    IInterruptLine IsaLine(int irq);

    /// <summary>Starts host timers (user-space PIT). Called just before the vCPUs run.</summary>
    void Start();

    /// <summary>KVM_EXIT_IOAPIC_EOI: the in-kernel LAPIC saw an EOI for a level-triggered IOAPIC vector.</summary>
    void OnIoapicEoi(byte vector);

    /// <summary>Called on a vCPU's thread before every KVM_RUN: injects a pending user-space PIC interrupt.</summary>
    void BeforeRun(VirtualCpu vcpu);

    /// <summary>True when this controller needs <see cref="BeforeRun"/> on every entry (its PIC lives in user space).</summary>
    bool InjectsFromUserSpace { get; }

    /// <summary>
    /// True while a user-space interrupt waits for <paramref name="vcpu"/> (the PIC's INT, or a vector KVM
    /// has not taken yet): a vCPU halted in user space with IF set should resume. False in kernel mode.
    /// </summary>
    bool HasPendingInterrupt(VirtualCpu vcpu);

    /// <summary>
    /// Raises a non-maskable interrupt on <paramref name="vcpu"/> as a LINT1 edge would, on the vCPU's own
    /// thread between exits. False when the vCPU's LVT LINT1 would not turn the edge into an NMI.
    /// </summary>
    bool DeliverLint1Nmi(VirtualCpu vcpu);

    /// <summary>
    /// <paramref name="count"/> message-signalled vectors for one device: irqfds on MSI routes where there
    /// is an in-kernel LAPIC, the device's <paramref name="intxFallback"/> line where there is none.
    /// The caller disposes the group with the device.
    /// </summary>
    IMsiVectorGroup CreateMsiVectors(int count, IInterruptLine intxFallback);
}
