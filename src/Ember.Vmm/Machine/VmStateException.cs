namespace Ember.Vmm.Machine;

/// <summary>A lifecycle command that the machine's current state does not allow (pause a stopped machine, start twice).</summary>
public sealed class VmStateException(VmState state, string message) : InvalidOperationException(message)
{
    /// <summary>The state the machine was in when the command was refused.</summary>
    public VmState State { get; } = state;
}
