namespace Ember.Devices.Virtio;

/// <summary>
/// Where the driver put one virtqueue, as it wrote the transport's registers (virtio 1.2 §4.1.4.3): the
/// size it chose and the guest-physical addresses of the descriptor area, the driver area (available ring)
/// and the device area (used ring). Nothing here is validated: a queue checks it against guest RAM.
/// </summary>
public readonly record struct VirtqueueLayout(ushort Size, ulong DescriptorArea, ulong DriverArea, ulong DeviceArea);
