namespace Ember.Devices.Legacy;

/// <summary>Snapshot of an <see cref="AcpiPmTimer"/>: the counter value at the time of the snapshot.</summary>
public sealed record AcpiPmTimerState(uint Counter);
