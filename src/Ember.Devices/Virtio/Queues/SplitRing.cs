namespace Ember.Devices.Virtio.Queues;

/// <summary>
/// The split virtqueue's memory format (virtio 1.2 §2.7): sizes and alignments of the three areas,
/// offsets of the fields inside them, and the flag bits. One place for the spec's numbers.
/// </summary>
public static class SplitRing
{
    /// <summary>The largest queue size a split ring can have (virtio 1.2 §2.7: "The maximum Queue Size value is 32768").</summary>
    public const int MaxQueueSize = 32768;

    /// <summary>struct virtq_desc: le64 addr, le32 len, le16 flags, le16 next.</summary>
    public const int DescriptorSize = 16;

    // Alignment of each area (virtio 1.2 §2.7, table "Virtqueue Part / Alignment / Size").
    public const int DescriptorAreaAlignment = 16;
    public const int DriverAreaAlignment = 2;
    public const int DeviceAreaAlignment = 4;

    /// <summary>struct virtq_used_elem: le32 id, le32 len.</summary>
    public const int UsedElementSize = 8;

    // Fields of struct virtq_avail: le16 flags, le16 idx, le16 ring[size], le16 used_event.
    public const int AvailFlagsOffset = 0;
    public const int AvailIndexOffset = 2;
    public const int AvailRingOffset = 4;

    // Fields of struct virtq_used: le16 flags, le16 idx, virtq_used_elem ring[size], le16 avail_event.
    public const int UsedFlagsOffset = 0;
    public const int UsedIndexOffset = 2;
    public const int UsedRingOffset = 4;

    /// <summary>VIRTQ_DESC_F_NEXT: the buffer continues via the next field.</summary>
    public const ushort DescriptorNext = 1;

    /// <summary>VIRTQ_DESC_F_WRITE: the buffer is device write-only (otherwise device read-only).</summary>
    public const ushort DescriptorWrite = 2;

    /// <summary>VIRTQ_DESC_F_INDIRECT: the buffer is a table of descriptors (virtio 1.2 §2.7, "Indirect Descriptors").</summary>
    public const ushort DescriptorIndirect = 4;

    /// <summary>VIRTQ_AVAIL_F_NO_INTERRUPT: the driver asks not to be interrupted (ignored under EVENT_IDX).</summary>
    public const ushort AvailNoInterrupt = 1;

    /// <summary>VIRTQ_USED_F_NO_NOTIFY: the device asks not to be notified (ignored by drivers under EVENT_IDX).</summary>
    public const ushort UsedNoNotify = 1;

    public static ulong DescriptorAreaSize(ushort size) => (ulong)size * DescriptorSize;

    /// <summary>6 + 2 × size: flags, idx, the ring, and used_event (present in memory whether or not EVENT_IDX is used).</summary>
    public static ulong DriverAreaSize(ushort size) => 6 + (2 * (ulong)size);

    /// <summary>6 + 8 × size: flags, idx, the ring, and avail_event.</summary>
    public static ulong DeviceAreaSize(ushort size) => 6 + (UsedElementSize * (ulong)size);

    /// <summary>Offset of used_event inside the driver area.</summary>
    public static ulong UsedEventOffset(ushort size) => AvailRingOffset + (2 * (ulong)size);

    /// <summary>Offset of avail_event inside the device area.</summary>
    public static ulong AvailEventOffset(ushort size) => UsedRingOffset + (UsedElementSize * (ulong)size);

    /// <summary>
    /// vring_need_event (virtio 1.2 §2.7, "Used Buffer Notification Suppression"): true when moving the index from <paramref name="oldIndex"/>
    /// to <paramref name="newIndex"/> stepped over <paramref name="eventIndex"/>, all modulo 2^16.
    /// </summary>
    public static bool NeedsEvent(ushort eventIndex, ushort newIndex, ushort oldIndex) =>
        (ushort)(newIndex - eventIndex - 1) < (ushort)(newIndex - oldIndex);
}
