using Ember.Devices.Virtio.Queues;

namespace Ember.Devices.Virtio.Socket;

/// <summary>The headers the device sends (virtio 1.2 §5.10.6), and writing one with its payload into a receive buffer.</summary>
internal static class VsockPackets
{
    /// <summary>A packet on <paramref name="connection"/> from the host to the guest, carrying the device's credit.</summary>
    public static VsockPacketHeader ForConnection(VsockConnection connection, ulong guestCid, VsockOp op, uint flags, uint length) => new()
    {
        SourceCid = VsockCid.Host,
        DestinationCid = guestCid,
        SourcePort = connection.Key.LocalPort,
        DestinationPort = connection.Key.PeerPort,
        Length = length,
        Type = VsockSocketType.Stream,
        Op = op,
        Flags = flags,
        BufferAllocation = VsockLimits.BufferAllocation,
        ForwardCount = connection.ForwardedToHost,
    };

    /// <summary>The reset that ends the connection <paramref name="key"/>.</summary>
    public static VsockPacketHeader ResetOf(VsockConnectionKey key, ulong guestCid) => new()
    {
        SourceCid = VsockCid.Host,
        DestinationCid = guestCid,
        SourcePort = key.LocalPort,
        DestinationPort = key.PeerPort,
        Type = VsockSocketType.Stream,
        Op = VsockOp.Reset,
    };

    /// <summary>The reset answering a guest packet that has no connection: from where it was sent to, back to its sender.</summary>
    public static VsockPacketHeader ResetAnswering(VsockPacketHeader packet, ulong guestCid) => new()
    {
        SourceCid = packet.DestinationCid,
        DestinationCid = guestCid,
        SourcePort = packet.DestinationPort,
        DestinationPort = packet.SourcePort,
        Type = VsockSocketType.Stream,
        Op = VsockOp.Reset,
    };

    public static void Write(DescriptorChainWriter writer, VsockPacketHeader header, ReadOnlySpan<byte> payload)
    {
        Span<byte> raw = stackalloc byte[VsockPacketHeader.Size];
        header.WriteTo(raw);
        writer.Write(raw);
        writer.Write(payload);
    }
}
