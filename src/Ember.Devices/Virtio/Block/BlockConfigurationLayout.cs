namespace Ember.Devices.Virtio.Block;

/// <summary>
/// Offsets in struct virtio_blk_config (virtio 1.2 §5.2.4) of the fields this device fills; the rest read
/// as zero because their feature bits are not offered.
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

    /// <summary>Up to and including write_zeroes_may_unmap and its padding: everything a 1.1 driver knows.</summary>
    public const int Length = 60;

    /// <summary>The sector unit of capacity and of the request's sector field.</summary>
    public const int SectorSize = 512;

    /// <summary>struct virtio_blk_req header: le32 type, le32 reserved, le64 sector.</summary>
    public const int RequestHeaderSize = 16;

    /// <summary>VIRTIO_BLK_ID_BYTES: the device ID string GET_ID returns.</summary>
    public const int IdLength = 20;
}
