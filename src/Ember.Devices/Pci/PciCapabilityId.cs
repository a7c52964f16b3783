namespace Ember.Devices.Pci;

/// <summary>Capability IDs (PCI Code and ID Assignment specification; PCI Local Bus 3.0 appendix H).</summary>
public static class PciCapabilityId
{
    public const byte Msi = 0x05;

    /// <summary>Vendor specific; virtio 1.2 §4.1.4 uses it for its transport structures.</summary>
    public const byte VendorSpecific = 0x09;

    public const byte PciExpress = 0x10;
    public const byte MsiX = 0x11;
}
