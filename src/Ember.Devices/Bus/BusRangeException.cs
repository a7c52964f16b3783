namespace Ember.Devices.Bus;

/// <summary>A device registration that is empty, overflows or overlaps another one. Host configuration error.</summary>
public sealed class BusRangeException(string message) : Exception(message);
