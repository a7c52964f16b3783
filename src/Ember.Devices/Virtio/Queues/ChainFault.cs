namespace Ember.Devices.Virtio.Queues;

/// <summary>
/// Why one descriptor chain is unusable. The head index is valid, so the device can still hand the
/// chain back (used length 0) and the queue goes on; the request itself is dropped.
/// </summary>
public enum ChainFault
{
    None,

    /// <summary>A next field names a descriptor at or above the table's size.</summary>
    NextIndexOutOfRange,

    /// <summary>More descriptors than the table holds: a loop, or a chain longer than the spec allows.</summary>
    TooLong,

    /// <summary>A buffer is not wholly inside guest RAM.</summary>
    BufferOutsideRam,

    /// <summary>A device-readable buffer follows a device-writable one (virtio 1.2 §2.7, "The Virtqueue Descriptor Table").</summary>
    ReadableAfterWritable,

    /// <summary>The buffers add up to more than 2^32 − 1 bytes (the spec caps a chain at 2^32 bytes).</summary>
    TotalLengthTooLarge,

    /// <summary>VIRTQ_DESC_F_INDIRECT without VIRTIO_F_INDIRECT_DESC negotiated.</summary>
    IndirectNotNegotiated,

    /// <summary>An indirect table inside an indirect table (virtio 1.2 §2.7, "Indirect Descriptors").</summary>
    NestedIndirect,

    /// <summary>VIRTQ_DESC_F_INDIRECT together with VIRTQ_DESC_F_NEXT (virtio 1.2 §2.7, "Indirect Descriptors").</summary>
    IndirectWithNext,

    /// <summary>An indirect table's length is zero, not a multiple of 16, or holds more entries than the device's maximum queue size.</summary>
    IndirectTableLength,

    /// <summary>An indirect table is not wholly inside guest RAM.</summary>
    IndirectTableOutsideRam,
}
