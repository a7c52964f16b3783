using Ember.Kvm;

namespace Ember.Vmm.Machine;

/// <summary>What a vCPU thread needs from its machine: whether to stop, a way to stop it, and HLT handling.</summary>
internal interface IMachineLifecycle
{
    bool StopRequested { get; }

    /// <summary>Stops the machine with <paramref name="exit"/>; the first stop wins.</summary>
    void Stop(MachineExit exit);

    /// <summary>The vCPU executed HLT with no in-kernel LAPIC: block until an interrupt is pending or the machine stops.</summary>
    void WaitForInterrupt(VirtualCpu vcpu);
}
