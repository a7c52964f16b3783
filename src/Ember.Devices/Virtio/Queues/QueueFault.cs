namespace Ember.Devices.Virtio.Queues;

/// <summary>
/// Why a queue stopped for good. The driver broke the ring as a whole, so the device cannot tell which
/// buffers are whose any more; it stops using the queue and asks for a reset (DEVICE_NEEDS_RESET).
/// </summary>
public enum QueueFault
{
    None,

    /// <summary>The queue size is zero, not a power of two, or above the device's maximum.</summary>
    InvalidSize,

    DescriptorAreaMisaligned,
    DriverAreaMisaligned,
    DeviceAreaMisaligned,

    DescriptorAreaOutsideRam,
    DriverAreaOutsideRam,
    DeviceAreaOutsideRam,

    /// <summary>avail idx ran more than queue-size entries ahead of what the device consumed (or went backwards).</summary>
    AvailIndexTooFarAhead,

    /// <summary>An available ring entry names a descriptor index at or above the queue size.</summary>
    HeadIndexOutOfRange,

    /// <summary>A ring field could not be accessed even though its area was checked (memory layout changed).</summary>
    RingInaccessible,
}
