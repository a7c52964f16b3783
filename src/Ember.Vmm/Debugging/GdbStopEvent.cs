namespace Ember.Vmm.Debugging;

/// <summary>One stop of the whole target: which vCPU (0-based) caused it, why, and for a watchpoint the address that fired.</summary>
internal sealed record GdbStopEvent(int Vcpu, GdbStopKind Kind, ulong DataAddress = 0);
