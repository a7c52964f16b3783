namespace Ember.Devices.Legacy;

/// <summary>Snapshot of a <see cref="FwCfgDevice"/>'s guest-visible cursor: the selected key and the read position in it.</summary>
public sealed record FwCfgDeviceState(ushort SelectedKey, int ReadOffset);
