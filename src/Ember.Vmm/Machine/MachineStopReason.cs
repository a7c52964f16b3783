namespace Ember.Vmm.Machine;

/// <summary>Why a machine stopped running.</summary>
public enum MachineStopReason
{
    /// <summary>The guest powered off (ACPI S5, KVM system event).</summary>
    PowerOff,
    /// <summary>The guest asked for a reset (i8042 0xFE, triple fault, KVM reset event).</summary>
    Reset,
    /// <summary>The guest wrote to the debug-exit port.</summary>
    DebugExit,
    /// <summary>The host asked it to stop (Ctrl-A X, API, embedding program).</summary>
    HostRequest,
    /// <summary>KVM could not emulate a guest instruction.</summary>
    EmulationFailure,
    /// <summary>Anything else that stopped the VMM: KVM entry failure, an unexpected error.</summary>
    InternalError,
}
