namespace Ember.Vmm.Devices;

/// <summary>An address space, a GSI range or the PCI slots ran out; the message names which and what was asked.</summary>
public sealed class ResourceExhaustedException(string message) : Exception(message);
