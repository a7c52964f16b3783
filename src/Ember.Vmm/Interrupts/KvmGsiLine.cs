using Ember.Devices.Interrupts;
using Ember.Kvm;

namespace Ember.Vmm.Interrupts;

/// <summary>A line into the in-kernel irqchip: its level is set with KVM_IRQ_LINE on one GSI.</summary>
internal sealed class KvmGsiLine(VirtualMachine vm, uint gsi) : IInterruptLine
{
    public void SetLevel(bool high) => vm.SetIrqLine(gsi, high);
}
