using Ember.Kvm;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Interrupts;

/// <summary>Chooses the interrupt controller for an <see cref="IrqchipMode"/>.</summary>
internal static class InterruptControllerFactory
{
    public static IInterruptController Create(IrqchipMode mode, VirtualMachine vm, MicroVm machine) => mode switch
    {
        IrqchipMode.Kernel => new KernelInterruptController(vm),
        IrqchipMode.Split => new SplitInterruptController(vm, machine),
        IrqchipMode.Userspace => new UserspaceInterruptController(machine),
        _ => throw new MachineConfigurationException($"unknown irqchip mode {mode}"),
    };
}
