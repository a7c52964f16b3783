namespace Ember.TestGuests.Virtio;

/// <summary>
/// The checksum the virtio-blk test guest folds its reads into, so the host can compute the same over the
/// disk image: for each little-endian dword d, h = rotl(h, 5) + d, starting from 0. Order matters, so data read
/// from the wrong place or in the wrong order does not add up the same.
/// </summary>
public static class VirtioBlockChecksum
{
    public static uint Compute(ReadOnlySpan<byte> data, uint seed = 0)
    {
        if (data.Length % 4 != 0)
            throw new ArgumentException("the checksum runs over whole dwords", nameof(data));
        uint h = seed;
        for (int i = 0; i < data.Length; i += 4)
            h = uint.RotateLeft(h, 5) + System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(data[i..]);
        return h;
    }

    /// <summary>What a write step with <paramref name="seed"/> puts on the disk per request: dwords seed, seed + 1, ….</summary>
    public static byte[] FillPattern(uint seed, uint length)
    {
        var bytes = new byte[length];
        for (uint k = 0; k < length / 4; k++)
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan((int)(k * 4)), seed + k);
        return bytes;
    }
}
