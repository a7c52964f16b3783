using Ember.Kvm;
using Ember.Vmm.Machine;
using Ember.Sys;

namespace Ember.Vmm.Interrupts;

/// <summary>Chooses the interrupt controller for an <see cref="IrqchipMode"/>.</summary>
internal static class InterruptControllerFactory
{
    public static IInterruptController Create(IrqchipMode mode, VirtualMachine vm, MicroVm machine, EventLoop timers) => mode switch
    {
        IrqchipMode.Kernel => new KernelInterruptController(vm),
        IrqchipMode.Split => new SplitInterruptController(vm, machine, timers),
        IrqchipMode.Userspace => new UserspaceInterruptController(machine, timers),
        _ => throw new MachineConfigurationException($"unknown irqchip mode {mode}"),
    };
}
