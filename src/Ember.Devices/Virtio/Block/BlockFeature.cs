namespace Ember.Devices.Virtio.Block;

/// <summary>virtio-blk feature bits (virtio 1.2 §5.2.3), as masks of the 64-bit feature word; only those this device uses.</summary>
public static class BlockFeature
{
    /// <summary>VIRTIO_BLK_F_SEG_MAX: seg_max in the configuration is the most data segments per request.</summary>
    public const ulong SegMax = 1UL << 2;

    /// <summary>VIRTIO_BLK_F_RO: the disk is read-only.</summary>
    public const ulong ReadOnly = 1UL << 5;

    /// <summary>VIRTIO_BLK_F_BLK_SIZE: blk_size in the configuration is the logical block size.</summary>
    public const ulong BlockSize = 1UL << 6;

    /// <summary>VIRTIO_BLK_F_FLUSH: VIRTIO_BLK_T_FLUSH is supported (and the cache is write-back).</summary>
    public const ulong Flush = 1UL << 9;

    /// <summary>VIRTIO_BLK_F_MQ: num_queues in the configuration is the number of request queues.</summary>
    public const ulong MultiQueue = 1UL << 12;

    /// <summary>VIRTIO_BLK_F_DISCARD: VIRTIO_BLK_T_DISCARD is supported, within max_discard_sectors and max_discard_seg.</summary>
    public const ulong Discard = 1UL << 13;

    /// <summary>VIRTIO_BLK_F_WRITE_ZEROES: VIRTIO_BLK_T_WRITE_ZEROES is supported, within max_write_zeroes_sectors and max_write_zeroes_seg.</summary>
    public const ulong WriteZeroes = 1UL << 14;
}
