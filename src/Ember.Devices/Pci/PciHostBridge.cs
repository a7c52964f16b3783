using Ember.Devices.Bus;

namespace Ember.Devices.Pci;

/// <summary>
/// The host bridge at 00:00.0: class 06/00/00, no BARs, no interrupt. Its presence is what tells the OS
/// that configuration mechanism #1 works (Linux checks for a host bridge or VGA class at bus 0). The
/// default ID 1b36:0008 is the "PCIe host bridge" QEMU's docs/specs/pci-ids assign from Red Hat's range
/// for virtual hardware; no driver binds to it, which is what a bridge without registers wants.
/// </summary>
public sealed class PciHostBridge : IPciDevice
{
    public const ushort DefaultVendorId = 0x1B36;
    public const ushort DefaultDeviceId = 0x0008;

    public PciHostBridge(ushort vendorId = DefaultVendorId, ushort deviceId = DefaultDeviceId) =>
        Configuration = new PciConfigSpace(new PciFunctionIdentity(vendorId, deviceId, PciClassCode.HostBridge));

    public PciConfigSpace Configuration { get; }

    public IBusDevice? BarRegion(int index) => null;
}
