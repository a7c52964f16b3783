namespace Ember.Devices.Pci;

/// <summary>
/// A BAR's decoded region changed: the guest wrote a new address while decoding was on, or turned the
/// Memory Space / I/O Space command bit on or off. A null address means the BAR is not decoded (its
/// command bit is off), so whoever maps the region unmaps it, or maps it afresh.
/// </summary>
public readonly record struct PciBarMove(int Index, PciBar Bar, ulong? OldAddress, ulong? NewAddress);
