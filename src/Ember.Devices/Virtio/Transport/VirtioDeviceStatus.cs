namespace Ember.Devices.Virtio.Transport;

/// <summary>device_status bits (virtio 1.2 §2.1).</summary>
[Flags]
public enum VirtioDeviceStatus : byte
{
    None = 0,
    Acknowledge = 1,
    Driver = 2,
    DriverOk = 4,
    FeaturesOk = 8,
    DeviceNeedsReset = 0x40,
    Failed = 0x80,
}
