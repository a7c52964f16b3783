namespace Ember.Devices.Virtio.Queues;

/// <summary>
/// The packed virtqueue's memory format (virtio 1.2 §2.8): the descriptor ring and the two event suppression
/// structures, their sizes, alignments and field offsets, and the flag bits. One place for the spec's numbers.
/// </summary>
public static class PackedRing
{
    /// <summary>"Packed virtqueues support up to 2^15 entries each" (virtio 1.2 §2.8); the size need not be a power of two.</summary>
    public const int MaxQueueSize = 32768;

    /// <summary>struct pvirtq_desc: le64 addr, le32 len, le16 id, le16 flags.</summary>
    public const int DescriptorSize = 16;

    public const int AddressOffset = 0;
    public const int LengthOffset = 8;
    public const int IdOffset = 12;
    public const int FlagsOffset = 14;

    // Alignment and size of each part (virtio 1.2 §2.8.10.1, "Structure Size and Alignment").
    public const int DescriptorRingAlignment = 16;
    public const int EventSuppressionAlignment = 4;
    public const int EventSuppressionSize = 4;

    // struct pvirtq_event_suppress: le16 desc (desc_event_off : 15, desc_event_wrap : 1), le16 flags (desc_event_flags : 2).
    public const int EventOffWrapOffset = 0;
    public const int EventFlagsOffset = 2;

    /// <summary>VIRTQ_DESC_F_NEXT: the buffer continues in the next descriptor of the ring.</summary>
    public const ushort DescriptorNext = 1;

    /// <summary>VIRTQ_DESC_F_WRITE: device write-only; in a used descriptor, the device wrote something.</summary>
    public const ushort DescriptorWrite = 2;

    /// <summary>VIRTQ_DESC_F_INDIRECT: the buffer is a table of descriptors (virtio 1.2 §2.8.7).</summary>
    public const ushort DescriptorIndirect = 4;

    /// <summary>VIRTQ_DESC_F_AVAIL (bit 7).</summary>
    public const ushort DescriptorAvail = 1 << 7;

    /// <summary>VIRTQ_DESC_F_USED (bit 15).</summary>
    public const ushort DescriptorUsed = 1 << 15;

    /// <summary>RING_EVENT_FLAGS_ENABLE: notify on every event.</summary>
    public const ushort EventFlagsEnable = 0;

    /// <summary>RING_EVENT_FLAGS_DISABLE: no notifications.</summary>
    public const ushort EventFlagsDisable = 1;

    /// <summary>RING_EVENT_FLAGS_DESC: notify when the descriptor at off_wrap is made available/used (needs EVENT_IDX).</summary>
    public const ushort EventFlagsDesc = 2;

    public const ushort EventFlagsMask = 3;

    /// <summary>The wrap counter bit of off_wrap.</summary>
    public const ushort EventWrapBit = 1 << 15;

    public static ulong DescriptorRingSize(ushort size) => (ulong)size * DescriptorSize;

    /// <summary>
    /// True when a descriptor with <paramref name="flags"/> is available to a device whose wrap counter is
    /// <paramref name="wrapCounter"/>: AVAIL matches the counter and USED does not (virtio 1.2 §2.8.1).
    /// </summary>
    public static bool IsAvailable(ushort flags, bool wrapCounter) =>
        ((flags & DescriptorAvail) != 0) == wrapCounter && ((flags & DescriptorUsed) != 0) != wrapCounter;

    /// <summary>
    /// Whether moving the used position from (<paramref name="oldPosition"/>, <paramref name="oldWrap"/>) to
    /// (<paramref name="newPosition"/>, <paramref name="newWrap"/>) passed the driver's event descriptor
    /// (<paramref name="eventPosition"/>, <paramref name="eventWrap"/>), i.e. the event lies in [old, new) in ring
    /// order. Positions with their wrap counters are points on a circle of 2 × size; valid while less than 2 × size
    /// descriptors were used between the two positions (callers decide "yes" beyond <paramref name="size"/>).
    /// </summary>
    public static bool SteppedOver(ushort size, ushort eventPosition, bool eventWrap, ushort oldPosition, bool oldWrap, ushort newPosition, bool newWrap)
    {
        uint circle = 2u * size;
        uint Point(ushort position, bool wrap) => position + (wrap ? 0u : size);
        uint Distance(uint from, uint to) => (to + circle - from) % circle;
        uint old = Point(oldPosition, oldWrap);
        return Distance(old, Point(eventPosition, eventWrap)) < Distance(old, Point(newPosition, newWrap));
    }
}
