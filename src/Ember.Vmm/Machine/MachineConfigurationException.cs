namespace Ember.Vmm.Machine;

/// <summary>A machine configuration that cannot be built; the message is one line meant for the user.</summary>
public sealed class MachineConfigurationException(string message) : Exception(message);
