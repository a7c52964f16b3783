namespace Ember.Devices.Legacy;

/// <summary>Snapshot of an <see cref="AcpiPowerManagement"/>: the PM1a status, enable and control registers.</summary>
public sealed record AcpiPowerManagementState(ushort Status, ushort Enable, ushort Control);
