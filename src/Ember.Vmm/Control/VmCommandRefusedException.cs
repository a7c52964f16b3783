namespace Ember.Vmm.Control;

/// <summary>A command Ember cannot carry out as asked (not supported yet, or not in this configuration); the message says why.</summary>
public sealed class VmCommandRefusedException(string message) : Exception(message);
