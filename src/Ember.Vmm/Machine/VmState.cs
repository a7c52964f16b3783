namespace Ember.Vmm.Machine;

/// <summary>Where a machine is in its life: NotStarted → Running ⇄ Paused → Stopped.</summary>
public enum VmState
{
    /// <summary>Built and booted into memory; no vCPU has run.</summary>
    NotStarted,
    /// <summary>The vCPU threads run the guest.</summary>
    Running,
    /// <summary>Every vCPU is out of KVM_RUN and the device I/O threads are quiesced.</summary>
    Paused,
    /// <summary>The machine ended (power-off, reset, triple fault, a host request or an error); see its <see cref="MachineExit"/>.</summary>
    Stopped,
}
