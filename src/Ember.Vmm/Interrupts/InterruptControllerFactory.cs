using Ember.Kvm;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Interrupts;

/// <summary>Chooses the interrupt controller for an <see cref="IrqchipMode"/>.</summary>
internal static class InterruptControllerFactory
{
    public static IInterruptController Create(IrqchipMode mode, VirtualMachine vm, MicroVm machine) => mode switch
    {
        IrqchipMode.Kernel => new KernelInterruptController(vm),
        _ => throw new MachineConfigurationException($"--irqchip {mode.ToString().ToLowerInvariant()} is not available yet"),
    };
}
