namespace Ember.Devices.Virtio.Transport;

/// <summary>cfg_type of a virtio vendor-specific PCI capability (virtio 1.2 §4.1.4).</summary>
public enum VirtioPciCapabilityType : byte
{
    CommonConfiguration = 1,
    Notifications = 2,
    InterruptStatus = 3,
    DeviceConfiguration = 4,
    PciConfigurationAccess = 5,
}
