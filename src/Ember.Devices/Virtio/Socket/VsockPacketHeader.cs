using System.Buffers.Binary;

namespace Ember.Devices.Virtio.Socket;

/// <summary>
/// The header in front of every vsock packet (virtio 1.2 §5.10.6, <c>struct virtio_vsock_hdr</c>): 44 packed
/// little-endian bytes. Parsing only decodes: every field comes from the guest, so the caller checks the CIDs
/// against the device's, <see cref="Length"/> against its buffer cap, and the type and op against what it serves.
/// Decoding from a copy the guest cannot change avoids reading a field twice with different values.
/// </summary>
public record struct VsockPacketHeader
{
    /// <summary>The header's size on the wire.</summary>
    public const int Size = 44;

    public ulong SourceCid { get; set; }
    public ulong DestinationCid { get; set; }
    public uint SourcePort { get; set; }
    public uint DestinationPort { get; set; }

    /// <summary>Payload bytes after the header (only ReadWrite carries any).</summary>
    public uint Length { get; set; }

    /// <summary>Raw, as the guest wrote it: compare with <see cref="VsockSocketType"/> values, which need not match.</summary>
    public VsockSocketType Type { get; set; }

    /// <summary>Raw, as the guest wrote it: may be none of the defined <see cref="VsockOp"/> values.</summary>
    public VsockOp Op { get; set; }

    /// <summary>Op-specific: <see cref="VsockShutdownFlags"/> for Shutdown.</summary>
    public uint Flags { get; set; }

    /// <summary>The sender's receive buffer size in bytes (credit, §5.10.6.3).</summary>
    public uint BufferAllocation { get; set; }

    /// <summary>Bytes the sender has consumed from its receive buffer so far (free-running, wraps).</summary>
    public uint ForwardCount { get; set; }

    /// <summary>Decodes a header from the first 44 bytes; false when fewer are given.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out VsockPacketHeader header)
    {
        if (source.Length < Size)
        {
            header = default;
            return false;
        }
        header = new VsockPacketHeader
        {
            SourceCid = BinaryPrimitives.ReadUInt64LittleEndian(source),
            DestinationCid = BinaryPrimitives.ReadUInt64LittleEndian(source[8..]),
            SourcePort = BinaryPrimitives.ReadUInt32LittleEndian(source[16..]),
            DestinationPort = BinaryPrimitives.ReadUInt32LittleEndian(source[20..]),
            Length = BinaryPrimitives.ReadUInt32LittleEndian(source[24..]),
            Type = (VsockSocketType)BinaryPrimitives.ReadUInt16LittleEndian(source[28..]),
            Op = (VsockOp)BinaryPrimitives.ReadUInt16LittleEndian(source[30..]),
            Flags = BinaryPrimitives.ReadUInt32LittleEndian(source[32..]),
            BufferAllocation = BinaryPrimitives.ReadUInt32LittleEndian(source[36..]),
            ForwardCount = BinaryPrimitives.ReadUInt32LittleEndian(source[40..]),
        };
        return true;
    }

    /// <summary>Encodes the header into the first 44 bytes of <paramref name="destination"/>.</summary>
    public readonly void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Size)
            throw new ArgumentException($"a vsock header needs {Size} bytes, not {destination.Length}", nameof(destination));
        BinaryPrimitives.WriteUInt64LittleEndian(destination, SourceCid);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], DestinationCid);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[16..], SourcePort);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[20..], DestinationPort);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[24..], Length);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[28..], (ushort)Type);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[30..], (ushort)Op);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[32..], Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[36..], BufferAllocation);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[40..], ForwardCount);
    }
}
