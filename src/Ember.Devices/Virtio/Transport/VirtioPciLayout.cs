namespace Ember.Devices.Virtio.Transport;

/// <summary>
/// Where a virtio-pci function keeps its structures: all in BAR 0, a 64-bit memory BAR, one 4 KiB page
/// each, so every structure is page-aligned and none can be reached through another's range.
/// </summary>
public static class VirtioPciLayout
{
    public const int Bar = 0;
    public const ulong BarSize = 0x8000;

    public const uint CommonOffset = 0x0000;
    /// <summary>sizeof(struct virtio_pci_common_cfg) up to queue_device (virtio 1.2 §4.1.4.3).</summary>
    public const uint CommonLength = 0x38;
    public const uint IsrOffset = 0x1000;
    public const uint IsrLength = 1;
    public const uint DeviceOffset = 0x2000;
    public const uint DeviceLengthMax = 0x1000;
    public const uint NotifyOffset = 0x3000;
    /// <summary>Each queue has its own notify address: queue_notify_off = queue index, 4 bytes apart.</summary>
    public const uint NotifyOffMultiplier = 4;
    public const uint MsixTableOffset = 0x4000;
    public const uint MsixPbaOffset = 0x5000;
    public const ulong PageSize = 0x1000;

    /// <summary>The ID of a modern (non-transitional) virtio PCI function: 0x1040 + the virtio device type.</summary>
    public const ushort VendorId = 0x1AF4;
    public const ushort ModernDeviceIdBase = 0x1040;

    /// <summary>queue_msix_vector / config_msix_vector value meaning "no vector".</summary>
    public const ushort NoVector = 0xFFFF;
}
