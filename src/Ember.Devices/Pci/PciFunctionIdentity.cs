namespace Ember.Devices.Pci;

/// <summary>
/// The read-only identity a function reports in its type 0 header: who made it, what it is, and which
/// INTx pin it uses. A vendor ID of 0xFFFF is what an absent function reads as, so it is refused.
/// </summary>
public sealed record PciFunctionIdentity(ushort VendorId, ushort DeviceId, PciClassCode ClassCode)
{
    public byte RevisionId { get; init; }
    public ushort SubsystemVendorId { get; init; }
    public ushort SubsystemId { get; init; }
    public PciInterruptPin InterruptPin { get; init; }
}
