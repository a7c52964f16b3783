using System.Buffers.Binary;
using System.IO.Compression;
using K4os.Compression.LZ4;

namespace Ember.Vmm.Boot;

/// <summary>
/// Extracts the ELF vmlinux that a bzImage carries as its compressed payload (boot protocol 2.08+,
/// payload_offset/payload_length), so Ember can boot it through its PVH entry and the guest never
/// runs its own decompressor — which on a software KVM is most of the time to the first message.
/// Supports the kernel's gzip, LZ4 (legacy frame) and zstd payloads; other formats return null and
/// the caller boots the bzImage the ordinary way. The output is capped to guard against a payload
/// that claims an absurd size.
/// </summary>
public static class KernelPayload
{
    /// <summary>No vmlinux we would boot is this large; anything claiming more is rejected.</summary>
    public const int MaxDecompressedSize = 512 << 20;

    private static ReadOnlySpan<byte> GzipMagic => [0x1F, 0x8B];
    private static ReadOnlySpan<byte> ZstdMagic => [0x28, 0xB5, 0x2F, 0xFD];
    private const uint Lz4LegacyMagic = 0x184C_2102;
    /// <summary>The kernel's LZ4 legacy frames use 8 MiB uncompressed blocks (lib/decompress_unlz4.c).</summary>
    private const int Lz4LegacyBlockSize = 8 << 20;

    /// <summary>Decompresses the payload of <paramref name="bzImage"/>; null when the format is not one we handle or the result is not an ELF image.</summary>
    /// <exception cref="BootImageException">The payload claims to be a supported format but is corrupt.</exception>
    public static byte[]? TryExtractVmlinux(ReadOnlyMemory<byte> bzImage)
    {
        var header = BzImage.Parse(bzImage);
        if (header.PayloadLength == 0)
            return null;
        ulong start = (ulong)header.SetupSize + header.PayloadOffset;
        if (start + header.PayloadLength > (ulong)bzImage.Length)
            throw new BootImageException("bzImage payload runs past the end of the file");
        var payload = bzImage.Slice((int)start, (int)header.PayloadLength);
        byte[]? vmlinux;
        try
        {
            var span = payload.Span;
            // The size the build appended lets the output be allocated once (bounded: it is only a hint).
            int expected = span.Length > 4 ? (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(span[^4..]), (uint)MaxDecompressedSize) : 0;
            // The kernel build appends the decompressed size (4 bytes) after the compressed stream.
            var stream = payload.Length > 4 ? payload[..^4] : payload;
            if (span.StartsWith(GzipMagic))
                vmlinux = Inflate(new GZipStream(new MemoryStream(stream.ToArray()), CompressionMode.Decompress), expected);
            else if (span.StartsWith(ZstdMagic))
                vmlinux = Inflate(new ZstdSharp.DecompressionStream(new MemoryStream(stream.ToArray())), expected);
            else if (span.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(span) == Lz4LegacyMagic)
                vmlinux = DecodeLz4Legacy(span, expected);
            else
                return null;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or ZstdSharp.ZstdException or ArgumentException)
        {
            throw new BootImageException($"bzImage payload is corrupt: {e.Message}");
        }
        return vmlinux is not null && ElfImage.HasElfMagic(vmlinux) ? vmlinux : null;
    }

    private static byte[] Inflate(Stream decompressor, int expectedSize)
    {
        using (decompressor)
        using (var output = new MemoryStream(expectedSize))
        {
            var buffer = new byte[1 << 16];
            int n;
            while ((n = decompressor.Read(buffer, 0, buffer.Length)) > 0)
            {
                if (output.Length + n > MaxDecompressedSize)
                    throw new InvalidDataException($"decompressed kernel exceeds {MaxDecompressedSize >> 20} MiB");
                output.Write(buffer, 0, n);
            }
            return Finish(output);
        }
    }

    /// <summary>The stream's bytes, without a copy when the size hint was exact.</summary>
    private static byte[] Finish(MemoryStream output) =>
        output.Length == output.Capacity ? output.GetBuffer() : output.ToArray();

    /// <summary>
    /// LZ4 legacy frame: magic, then blocks of (u32 compressed size, data), each decoding to at most 8 MiB.
    /// The kernel build appends the 4-byte decompressed size after the last block, so stop when fewer
    /// than a block header's worth of bytes remain, or at a repeated magic (concatenated frames).
    /// </summary>
    private static byte[] DecodeLz4Legacy(ReadOnlySpan<byte> input, int expectedSize)
    {
        using var output = new MemoryStream(expectedSize);
        var block = new byte[Lz4LegacyBlockSize];
        int position = 4;
        while (input.Length - position > 4)
        {
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(input[position..]);
            position += 4;
            if (size == Lz4LegacyMagic)
                continue;
            if (size == 0 || size > (uint)(input.Length - position))
                break;
            int decoded = LZ4Codec.Decode(input.Slice(position, (int)size), block);
            if (decoded < 0)
                throw new InvalidDataException("bad LZ4 block");
            if (output.Length + decoded > MaxDecompressedSize)
                throw new InvalidDataException($"decompressed kernel exceeds {MaxDecompressedSize >> 20} MiB");
            output.Write(block, 0, decoded);
            position += (int)size;
        }
        return Finish(output);
    }
}
