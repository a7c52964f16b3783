namespace Ember.Vmm.Control;

/// <summary>A resource configuration that cannot be used: the message names the field and says what is wrong.</summary>
public sealed class ResourceConfigException(string message) : Exception(message);
