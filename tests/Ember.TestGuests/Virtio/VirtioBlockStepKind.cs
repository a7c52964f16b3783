namespace Ember.TestGuests.Virtio;

/// <summary>What one step of a <see cref="VirtioBlockGuestProgram"/> asks the disk to do (virtio 1.2 §5.2.6 request types).</summary>
public enum VirtioBlockStepKind
{
    /// <summary>VIRTIO_BLK_T_IN: sectors into the guest's data buffer.</summary>
    Read = 0,
    /// <summary>VIRTIO_BLK_T_OUT: the data buffer onto the disk.</summary>
    Write = 1,
    /// <summary>VIRTIO_BLK_T_FLUSH: no data.</summary>
    Flush = 4,
    /// <summary>VIRTIO_BLK_T_GET_ID: the 20-byte serial into the data buffer, printed on COM1.</summary>
    GetId = 8,
    /// <summary>VIRTIO_BLK_T_DISCARD: one segment (sector, sectors, flags) from the data buffer.</summary>
    Discard = 11,
    /// <summary>VIRTIO_BLK_T_WRITE_ZEROES: the same one segment.</summary>
    WriteZeroes = 13,
}
