using Ember.Devices.Tests.Fakes;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Socket;
using Ember.Memory;

namespace Ember.Devices.Tests.Virtio.Socket;

/// <summary>
/// The guest driver of a virtio-vsock device, for tests: its three queues in one array memory, receive buffers
/// posted and re-posted, packets built and transmitted, and the device's packets read back off the used ring.
/// </summary>
public sealed class VsockTestGuest
{
    public const ulong Cid = 3;
    public const ushort QueueSize = 64;
    private const ulong Mib = 1 << 20;

    private readonly Dictionary<ushort, TestBuffer> _receiveBuffers = [];
    private readonly Lock _lock = new();
    private ushort _receiveUsedSeen;

    public VsockTestGuest()
    {
        Memory = ArrayGuestMemory.Create((GuestAddress.Zero, 48 * Mib));
        Receive = new VirtqueueTestDriver(QueueSize, Memory, 0x1_0000, 1 * Mib, 8 * Mib);
        Transmit = new VirtqueueTestDriver(QueueSize, Memory, 0x2_0000, 8 * Mib, 47 * Mib);
        Events = new VirtqueueTestDriver(QueueSize, Memory, 0x3_0000, 47 * Mib, 48 * Mib);
    }

    public ArrayGuestMemory Memory { get; }

    public VirtqueueTestDriver Receive { get; }

    public VirtqueueTestDriver Transmit { get; }

    public VirtqueueTestDriver Events { get; }

    public RecordingVirtioInterrupt Interrupt { get; } = new();

    public void Activate(IVirtioDevice device, ulong features = VirtqueueTestDriver.AllFeatures) =>
        device.Activate(new VirtioActivation(features, Memory, [Receive.Layout, Transmit.Layout, Events.Layout], Interrupt));

    /// <summary>Posts <paramref name="count"/> receive buffers of <paramref name="size"/> bytes (the device is not notified).</summary>
    public void PostReceiveBuffers(int count, uint size = 4096)
    {
        lock (_lock)
        {
            for (int i = 0; i < count; i++)
                PostReceive(Receive.Writable(size));
        }
    }

    private void PostReceive(TestBuffer buffer)
    {
        ushort head = Receive.Post(buffer);
        _receiveBuffers[head] = buffer;
    }

    /// <summary>A packet from this guest (src_cid 3) to the host, with the credit fields given.</summary>
    public static VsockPacketHeader Packet(VsockOp op, uint sourcePort, uint destinationPort, uint bufferAllocation = 256 * 1024, uint forwardCount = 0, uint flags = 0) => new()
    {
        SourceCid = Cid,
        DestinationCid = VsockCid.Host,
        SourcePort = sourcePort,
        DestinationPort = destinationPort,
        Type = VsockSocketType.Stream,
        Op = op,
        Flags = flags,
        BufferAllocation = bufferAllocation,
        ForwardCount = forwardCount,
    };

    /// <summary>Transmits one packet (header and payload in separate descriptors, as Linux does) and notifies the device.</summary>
    public void Send(IVirtioDevice device, VsockPacketHeader header, ReadOnlySpan<byte> payload = default)
    {
        if (header.Length == 0 && !payload.IsEmpty)
            header.Length = (uint)payload.Length;
        var raw = new byte[VsockPacketHeader.Size];
        header.WriteTo(raw);
        SendRaw(device, raw, payload);
    }

    /// <summary>Transmits the bytes as they are: a header of any length and an optional payload descriptor.</summary>
    public void SendRaw(IVirtioDevice device, ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload = default)
    {
        lock (_lock)
        {
            if (payload.IsEmpty)
                Transmit.Post(Transmit.Readable(header));
            else
                Transmit.Post(Transmit.Readable(header), Transmit.Readable(payload));
        }
        device.Notify(VirtioVsock.TransmitQueue);
    }

    /// <summary>
    /// The packets the device has put in receive buffers since the last call, in order; each buffer is posted again
    /// (the device is not notified of that).
    /// </summary>
    public List<ReceivedPacket> TakeReceived(bool repost = true)
    {
        var packets = new List<ReceivedPacket>();
        lock (_lock)
        {
            while (_receiveUsedSeen != Receive.UsedIndex)
            {
                var (id, length) = Receive.Used(_receiveUsedSeen++);
                var buffer = _receiveBuffers[(ushort)id];
                _receiveBuffers.Remove((ushort)id);
                var bytes = Receive.ReadBytes(buffer.Address, (int)length);
                Assert.True(VsockPacketHeader.TryRead(bytes, out var header), $"a used receive buffer of {length} bytes holds no header");
                Assert.Equal(VsockPacketHeader.Size + (int)header.Length, (int)length);
                packets.Add(new ReceivedPacket(header, bytes[VsockPacketHeader.Size..]));
                if (repost)
                    PostReceive(buffer);
            }
        }
        return packets;
    }
}
