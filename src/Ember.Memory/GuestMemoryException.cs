namespace Ember.Memory;

/// <summary>
/// A guest memory access that falls outside the guest's RAM or overflows. Device code
/// catches it at the request boundary and turns it into a device error, never a crash.
/// </summary>
public sealed class GuestMemoryException(string message) : Exception(message);
