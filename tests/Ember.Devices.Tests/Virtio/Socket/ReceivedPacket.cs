using Ember.Devices.Virtio.Socket;

namespace Ember.Devices.Tests.Virtio.Socket;

/// <summary>One packet the device put in a receive buffer: its header and payload.</summary>
public sealed record ReceivedPacket(VsockPacketHeader Header, byte[] Payload)
{
    public VsockOp Op => Header.Op;
}
