namespace Ember.Devices.Virtio.Block;

/// <summary>
/// Offsets in struct virtio_blk_config (virtio 1.2 §5.2.4) of the fields this device fills; the rest read
/// as zero because their feature bits are not offered. Also the sizes and flags of the request formats (§5.2.6).
/// </summary>
public static class BlockConfigurationLayout
{
    /// <summary>le64 capacity, in 512-byte sectors whatever blk_size says.</summary>
    public const int Capacity = 0;

    /// <summary>le32 size_max (VIRTIO_BLK_F_SIZE_MAX, not offered).</summary>
    public const int SizeMax = 8;

    /// <summary>le32 seg_max (VIRTIO_BLK_F_SEG_MAX).</summary>
    public const int SegMax = 12;

    /// <summary>le32 blk_size (VIRTIO_BLK_F_BLK_SIZE), after the 4-byte geometry.</summary>
    public const int BlockSize = 20;

    /// <summary>le16 num_queues (VIRTIO_BLK_F_MQ), after the topology (8 bytes), writeback and a padding byte.</summary>
    public const int NumQueues = 34;

    /// <summary>le32 max_discard_sectors (VIRTIO_BLK_F_DISCARD): the most sectors one discard segment may cover.</summary>
    public const int MaxDiscardSectors = 36;

    /// <summary>le32 max_discard_seg: the most segments one discard request may carry.</summary>
    public const int MaxDiscardSegments = 40;

    /// <summary>le32 discard_sector_alignment: a hint for how the driver splits discards, in sectors.</summary>
    public const int DiscardSectorAlignment = 44;

    /// <summary>le32 max_write_zeroes_sectors (VIRTIO_BLK_F_WRITE_ZEROES): the most sectors one segment may cover.</summary>
    public const int MaxWriteZeroesSectors = 48;

    /// <summary>le32 max_write_zeroes_seg: the most segments one write-zeroes request may carry.</summary>
    public const int MaxWriteZeroesSegments = 52;

    /// <summary>u8 write_zeroes_may_unmap: 1 when a write-zeroes request with the unmap flag can free storage.</summary>
    public const int WriteZeroesMayUnmap = 56;

    /// <summary>Up to and including write_zeroes_may_unmap and its padding: everything a 1.1 driver knows.</summary>
    public const int Length = 60;

    /// <summary>The sector unit of capacity and of the request's sector field.</summary>
    public const int SectorSize = 512;

    /// <summary>struct virtio_blk_req header: le32 type, le32 reserved, le64 sector.</summary>
    public const int RequestHeaderSize = 16;

    /// <summary>VIRTIO_BLK_ID_BYTES: the device ID string GET_ID returns.</summary>
    public const int IdLength = 20;

    /// <summary>struct virtio_blk_discard_write_zeroes: le64 sector, le32 num_sectors, le32 flags.</summary>
    public const int RangeSegmentSize = 16;

    /// <summary>The segment's flags bit 0, unmap: a write-zeroes range may be deallocated (never set for a discard).</summary>
    public const uint RangeFlagUnmap = 1;
}
