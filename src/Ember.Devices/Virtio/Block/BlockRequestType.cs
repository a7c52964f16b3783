namespace Ember.Devices.Virtio.Block;

/// <summary>The type field of struct virtio_blk_req (virtio 1.2 §5.2.6); only these are answered, others get UNSUPP.</summary>
public enum BlockRequestType : uint
{
    In = 0,
    Out = 1,
    Flush = 4,
    GetId = 8,
    /// <summary>VIRTIO_BLK_T_DISCARD: the data is struct virtio_blk_discard_write_zeroes segments.</summary>
    Discard = 11,
    /// <summary>VIRTIO_BLK_T_WRITE_ZEROES: the same segments; the ranges read as zeroes afterwards.</summary>
    WriteZeroes = 13,
}
