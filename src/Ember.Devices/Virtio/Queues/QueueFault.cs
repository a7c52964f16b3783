namespace Ember.Devices.Virtio.Queues;

/// <summary>
/// Why a queue stopped for good. The driver broke the ring as a whole, so the device cannot tell which
/// buffers are whose any more; it stops using the queue and asks for a reset (DEVICE_NEEDS_RESET).
/// </summary>
public enum QueueFault
{
    None,

    /// <summary>The queue size is zero, above the device's maximum, or (split rings only) not a power of two.</summary>
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

    /// <summary>Packed: a chain's NEXT flags run on for more descriptors than the ring holds.</summary>
    ChainLongerThanRing,

    /// <summary>Packed: a descriptor inside a chain is not marked available although its chain's first one is.</summary>
    ChainDescriptorNotAvailable,

    /// <summary>Packed: taking the chain would leave more descriptors outstanding than the ring holds.</summary>
    TooManyOutstanding,

    /// <summary>Packed: a buffer id at or above the queue size.</summary>
    BufferIdOutOfRange,

    /// <summary>Packed: a buffer id that names a buffer the device still holds.</summary>
    BufferIdInUse,

    /// <summary>A saved queue state that no queue of its layout could have been in (positions, outstanding counts).</summary>
    InvalidSavedState,
}
