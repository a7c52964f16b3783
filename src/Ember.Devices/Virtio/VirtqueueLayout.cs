namespace Ember.Devices.Virtio;

/// <summary>
/// Where the driver put one virtqueue, as it wrote the transport's registers (virtio 1.2 §4.1.4.3): the
/// size it chose and the guest-physical addresses of the descriptor area, the driver area and the device area.
/// For a split ring these are the descriptor table, the available ring and the used ring (§2.7); for a packed
/// ring (VIRTIO_F_RING_PACKED) the descriptor ring, the driver event suppression structure and the device event
/// suppression structure (§2.8). Nothing here is validated: a queue checks it against guest RAM.
/// </summary>
public readonly record struct VirtqueueLayout(ushort Size, ulong DescriptorArea, ulong DriverArea, ulong DeviceArea);
