namespace Ember.Devices.Virtio.Block;

/// <summary>
/// The storage behind a virtio-blk device: a fixed-length byte array with read, write and flush. The device
/// checks every range against <see cref="Length"/> before calling. Failures are reported as exceptions
/// (<see cref="IOException"/> and its kin), which the device turns into VIRTIO_BLK_S_IOERR.
/// Called under the device lock from the notifying thread.
/// </summary>
public interface IBlockBackend
{
    /// <summary>Bytes of storage; the device exposes Length / 512 whole sectors.</summary>
    ulong Length { get; }

    bool IsReadOnly { get; }

    /// <summary>Fills all of <paramref name="destination"/> from <paramref name="offset"/>.</summary>
    void Read(ulong offset, Span<byte> destination);

    /// <summary>Stores all of <paramref name="source"/> at <paramref name="offset"/>.</summary>
    void Write(ulong offset, ReadOnlySpan<byte> source);

    /// <summary>Makes every completed write durable.</summary>
    void Flush();

    /// <summary>
    /// Lets the storage under [offset, offset + length) go (the guest's DISCARD). Only a hint: a store that
    /// cannot free space may do nothing, and what the range reads afterwards is unspecified.
    /// </summary>
    void Discard(ulong offset, ulong length);

    /// <summary>
    /// Makes [offset, offset + length) read as zeroes (the guest's WRITE_ZEROES); with
    /// <paramref name="mayDeallocate"/> the store may free the range's storage while doing so.
    /// </summary>
    void WriteZeroes(ulong offset, ulong length, bool mayDeallocate);
}
