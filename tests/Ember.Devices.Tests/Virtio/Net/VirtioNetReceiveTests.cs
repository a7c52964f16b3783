using System.Buffers.Binary;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Net;
using Xunit;

namespace Ember.Devices.Tests.Virtio.Net;

/// <summary>virtio-net's receive queue (virtio 1.2 §5.1.6.3–5.1.6.4) over a fake backend.</summary>
public sealed class VirtioNetReceiveTests
{
    private const ulong WithoutMergeable = NetTestRig.AllFeatures & ~NetFeature.MergeableReceiveBuffers;

    private readonly NetTestRig _rig = new();
    private readonly FakeNetBackend _backend = new();
    private readonly VirtioNet _device;

    public VirtioNetReceiveTests() => _device = new VirtioNet(_backend, MacAddress.Parse("02:00:00:00:00:01"));

    private VirtqueueTestDriver Rx => _rig.Receive;

    private static byte[] Frame(int ethernetLength, byte seed = 1, byte[]? header = null) =>
        NetTestRig.Frame(header ?? NetTestRig.Header(), NetTestRig.Ethernet(ethernetLength, seed));

    [Fact]
    public void AFrameFillsOneChainWithItsHeaderPassedThroughAndNumBuffersOne()
    {
        // A partial checksum from the host, for a driver that took GUEST_CSUM.
        var header = NetTestRig.Header(NetHeaderLayout.FlagNeedsChecksum, checksumStart: 34, checksumOffset: 6, numBuffers: 0xEEEE);
        var frame = Frame(1000, header: header);
        var headerBuffer = Rx.Writable(NetHeaderLayout.Size);
        var dataBuffer = Rx.Writable(1514);
        ushort head = Rx.Post(headerBuffer, dataBuffer);
        _rig.Activate(_device, WithoutMergeable);

        _backend.Incoming.Enqueue(frame);
        _device.OnBackendReady(NetReadiness.Readable);

        Assert.Equal(1, Rx.UsedIndex);
        Assert.Equal((head, (uint)frame.Length), Rx.Used(0));
        var expected = frame.ToArray();
        BinaryPrimitives.WriteUInt16LittleEndian(expected.AsSpan(10), 1);
        Assert.Equal(expected[..12], Rx.ReadBytes(headerBuffer.Address, 12));
        Assert.Equal(expected[12..], Rx.ReadBytes(dataBuffer.Address, frame.Length - 12));
        Assert.Equal([VirtioNet.ReceiveQueue], _rig.Interrupt.QueueSignals);
        Assert.Equal(1, _device.FramesReceived);
        // That was the only buffer: the device stops watching the backend until the driver adds more.
        Assert.Equal(NetReadiness.None, _backend.Watching);
    }

    [Fact]
    public void WithoutGuestChecksumTheFlagsAreCleared()
    {
        var buffer = Rx.Writable(2048);
        Rx.Post(buffer);
        _rig.Activate(_device, VirtioFeature.Version1);
        _backend.Incoming.Enqueue(Frame(100, header: NetTestRig.Header(NetHeaderLayout.FlagDataValid)));

        _device.OnBackendReady(NetReadiness.Readable);

        Assert.Equal(0, Rx.ReadBytes(buffer.Address, 1)[0]);
        Assert.Equal(1, _device.FramesReceived);
    }

    [Fact]
    public void WithGuestChecksumDataValidStaysAndUnknownFlagsGo()
    {
        var buffer = Rx.Writable(2048);
        Rx.Post(buffer);
        _rig.Activate(_device);
        _backend.Incoming.Enqueue(Frame(100, header: NetTestRig.Header(NetHeaderLayout.FlagDataValid | 4)));

        _device.OnBackendReady(NetReadiness.Readable);

        Assert.Equal(NetHeaderLayout.FlagDataValid, Rx.ReadBytes(buffer.Address, 1)[0]);
    }

    [Fact]
    public void WithMergeableBuffersAFrameSpansChainsPublishedTogether()
    {
        var buffers = Enumerable.Range(0, 4).Select(_ => Rx.Writable(1000)).ToArray();
        var heads = buffers.Select(b => Rx.Post(b)).ToArray();
        _rig.Activate(_device);
        var frame = Frame(2500 - 12);

        _backend.Incoming.Enqueue(frame);
        _device.OnBackendReady(NetReadiness.Readable);

        Assert.Equal(3, Rx.UsedIndex);
        Assert.Equal((heads[0], 1000u), Rx.Used(0));
        Assert.Equal((heads[1], 1000u), Rx.Used(1));
        Assert.Equal((heads[2], 500u), Rx.Used(2));
        var received = Rx.ReadBytes(buffers[0].Address, 1000).Concat(Rx.ReadBytes(buffers[1].Address, 1000)).Concat(Rx.ReadBytes(buffers[2].Address, 500)).ToArray();
        Assert.Equal(3, BinaryPrimitives.ReadUInt16LittleEndian(received.AsSpan(10)));
        Assert.Equal(frame[12..], received[12..]);
        // One interrupt for the whole frame; the fourth chain waits for the next.
        Assert.Equal([VirtioNet.ReceiveQueue], _rig.Interrupt.QueueSignals);

        var next = Frame(100, seed: 9);
        _backend.Incoming.Enqueue(next);
        _device.OnBackendReady(NetReadiness.Readable);
        Assert.Equal((heads[3], (uint)next.Length), Rx.Used(3));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(Rx.ReadBytes(buffers[3].Address, 12).AsSpan(10)));
    }

    [Fact]
    public void WithNoBuffersTheDeviceLeavesFramesInTheBackendAndStopsWatchingIt()
    {
        _rig.Activate(_device);
        _backend.Incoming.Enqueue(Frame(100, seed: 1));
        _backend.Incoming.Enqueue(Frame(200, seed: 2));

        _device.OnBackendReady(NetReadiness.Readable);

        Assert.Equal(0, _backend.ReceiveCalls);
        Assert.Equal(NetReadiness.None, _backend.Watching);
        Assert.Equal(2, _backend.Incoming.Count);
    }

    [Fact]
    public void FramesWaitForBuffersAndAreDeliveredWhenTheDriverAddsThemNotDropped()
    {
        var first = Rx.Writable(2048);
        Rx.Post(first);
        _rig.Activate(_device, WithoutMergeable);
        var frames = new[] { Frame(100, seed: 1), Frame(200, seed: 2), Frame(300, seed: 3) };
        foreach (var frame in frames)
            _backend.Incoming.Enqueue(frame);

        _device.OnBackendReady(NetReadiness.Readable);

        // One buffer: the first frame went in; the others stay in the backend, which the device stops watching.
        Assert.Equal(1, Rx.UsedIndex);
        Assert.Equal(2, _backend.Incoming.Count);
        Assert.Equal(NetReadiness.None, _backend.Watching);
        // Under EVENT_IDX the device asked to hear of the very next buffer.
        Assert.Equal(Rx.AvailIndex, Rx.AvailEvent);
        // Readiness that comes anyway (it was reported before the interest changed) takes nothing either.
        _device.OnBackendReady(NetReadiness.Readable);
        Assert.Equal(2, _backend.Incoming.Count);

        var second = Rx.Writable(2048);
        Rx.Post(second);
        _device.Notify(VirtioNet.ReceiveQueue);

        Assert.Equal(2, Rx.UsedIndex);
        Assert.Equal(frames[1][12..], Rx.ReadBytes(second.Address, frames[1].Length)[12..]);
        Assert.Single(_backend.Incoming);

        var third = Rx.Writable(2048);
        var fourth = Rx.Writable(2048);
        Rx.Post(third);
        Rx.Post(fourth);
        _device.Notify(VirtioNet.ReceiveQueue);

        Assert.Equal(3, Rx.UsedIndex);
        Assert.Equal(frames[2][12..], Rx.ReadBytes(third.Address, frames[2].Length)[12..]);
        // A buffer is left: the device watches the backend again.
        Assert.Equal(NetReadiness.Readable, _backend.Watching);
        Assert.Equal(3, _device.FramesReceived);
        Assert.Equal(0, _device.ReceiveDropped);
    }

    [Fact]
    public void WithMergeableBuffersAFrameWaitsUntilEnoughBuffersCome()
    {
        var a = Rx.Writable(1000);
        Rx.Post(a);
        _rig.Activate(_device);
        var frame = Frame(2500 - 12);
        _backend.Incoming.Enqueue(frame);

        _device.OnBackendReady(NetReadiness.Readable);
        // The frame was taken (there was a buffer) but does not fit it: it is the one the device keeps, and the
        // backend is not read again meanwhile.
        Assert.Equal(0, Rx.UsedIndex);
        Assert.True(_device.HasPendingReceiveFrame);
        Assert.Equal(NetReadiness.None, _backend.Watching);
        int receiveCalls = _backend.ReceiveCalls;

        var b = Rx.Writable(1000);
        Rx.Post(b);
        _device.Notify(VirtioNet.ReceiveQueue);
        Assert.Equal(0, Rx.UsedIndex);
        Assert.Equal(receiveCalls, _backend.ReceiveCalls);

        var c = Rx.Writable(1000);
        Rx.Post(c);
        _device.Notify(VirtioNet.ReceiveQueue);

        Assert.Equal(3, Rx.UsedIndex);
        var received = Rx.ReadBytes(a.Address, 1000).Concat(Rx.ReadBytes(b.Address, 1000)).Concat(Rx.ReadBytes(c.Address, 500)).ToArray();
        Assert.Equal(frame[12..], received[12..]);
        Assert.Equal(0, _device.ReceiveDropped);
        Assert.False(_device.HasPendingReceiveFrame);
    }

    [Fact]
    public void WithoutMergeableBuffersAFrameBiggerThanTheChainIsDroppedAndTheChainKeptForTheNext()
    {
        var small = Rx.Writable(600);
        ushort head = Rx.Post(small);
        _rig.Activate(_device, WithoutMergeable);
        var big = Frame(1000, seed: 1);
        var fits = Frame(500, seed: 2);
        _backend.Incoming.Enqueue(big);
        _backend.Incoming.Enqueue(fits);

        _device.OnBackendReady(NetReadiness.Readable);

        Assert.Equal(1, _device.ReceiveDropped);
        Assert.Equal(1, Rx.UsedIndex);
        Assert.Equal((head, (uint)fits.Length), Rx.Used(0));
        Assert.Equal(fits[12..], Rx.ReadBytes(small.Address, fits.Length)[12..]);
    }

    [Fact]
    public void AMergeableFrameBiggerThanTheWholeRingCanHoldIsDropped()
    {
        var rig = new NetTestRig(receiveSize: 4);
        for (int i = 0; i < 4; i++)
            rig.Receive.Post(rig.Receive.Writable(100));
        rig.Activate(_device);
        _backend.Incoming.Enqueue(Frame(1000, seed: 1));
        var small = Frame(50, seed: 2);
        _backend.Incoming.Enqueue(small);

        _device.OnBackendReady(NetReadiness.Readable);

        Assert.Equal(1, _device.ReceiveDropped);
        Assert.Equal(1, rig.Receive.UsedIndex);
        Assert.Equal((uint)small.Length, rig.Receive.Used(0).Length);
    }

    [Fact]
    public void ReceiveChainsThatAreReadableOrShorterThanTheHeaderAreGivenBackUnused()
    {
        Rx.Post(Rx.Readable(new byte[100]));
        Rx.Post(Rx.Writable(NetHeaderLayout.Size - 1));
        Rx.Post(Rx.Readable(new byte[4]), Rx.Writable(2000));
        var good = Rx.Writable(2048);
        ushort goodHead = Rx.Post(good);
        _rig.Activate(_device);
        var frame = Frame(100);
        _backend.Incoming.Enqueue(frame);

        _device.OnBackendReady(NetReadiness.Readable);

        Assert.Equal(4, Rx.UsedIndex);
        for (ushort i = 0; i < 3; i++)
            Assert.Equal(0u, Rx.Used(i).Length);
        Assert.Equal((goodHead, (uint)frame.Length), Rx.Used(3));
        Assert.Equal(3, _device.ReceiveChainsRejected);
    }

    [Theory]
    [InlineData(NetHeaderLayout.GsoTcpV4, WithoutMergeable & ~NetFeature.GuestTso4)]
    [InlineData(NetHeaderLayout.GsoTcpV6, WithoutMergeable & ~NetFeature.GuestTso6)]
    [InlineData(NetHeaderLayout.GsoUdp, WithoutMergeable)]
    [InlineData(NetHeaderLayout.GsoTcpV4 | NetHeaderLayout.GsoEcn, WithoutMergeable)]
    public void AFrameWithAnOffloadTheDriverDidNotTakeIsDropped(byte gsoType, ulong features)
    {
        var buffer = Rx.Writable(65562);
        Rx.Post(buffer);
        _rig.Activate(_device, features);
        _backend.Incoming.Enqueue(Frame(3000, header: NetTestRig.Header(NetHeaderLayout.FlagNeedsChecksum, gsoType, 54, 1448, 34, 16)));
        var plain = Frame(60);
        _backend.Incoming.Enqueue(plain);

        _device.OnBackendReady(NetReadiness.Readable);

        Assert.Equal(1, _device.ReceiveDropped);
        Assert.Equal((uint)plain.Length, Rx.Used(0).Length);
    }

    [Fact]
    public void ATsoFrameTheDriverTookArrivesWhole()
    {
        var buffer = Rx.Writable(65562);
        Rx.Post(buffer);
        _rig.Activate(_device, WithoutMergeable);
        var header = NetTestRig.Header(NetHeaderLayout.FlagNeedsChecksum, NetHeaderLayout.GsoTcpV4, 66, 1448, 34, 16);
        var frame = Frame(NetHeaderLayout.MaxFrameLength - NetHeaderLayout.Size, header: header);
        _backend.Incoming.Enqueue(frame);

        _device.OnBackendReady(NetReadiness.Readable);

        Assert.Equal((uint)NetHeaderLayout.MaxFrameLength, Rx.Used(0).Length);
        var received = Rx.ReadBytes(buffer.Address, NetHeaderLayout.MaxFrameLength);
        Assert.Equal(header[..10], received[..10]);
        Assert.Equal(frame[12..], received[12..]);
    }

    [Fact]
    public void WithoutEventIdxEveryDeliveryInterruptsAndWithItOnlyPastUsedEvent()
    {
        Rx.Post(Rx.Writable(2048));
        Rx.Post(Rx.Writable(2048));
        // The driver wants an interrupt only once used idx passes 1 (after the second buffer).
        Rx.UsedEvent = 1;
        _rig.Activate(_device);

        _backend.Incoming.Enqueue(Frame(60));
        _device.OnBackendReady(NetReadiness.Readable);
        Assert.Empty(_rig.Interrupt.QueueSignals);

        _backend.Incoming.Enqueue(Frame(60));
        _device.OnBackendReady(NetReadiness.Readable);
        Assert.Equal([VirtioNet.ReceiveQueue], _rig.Interrupt.QueueSignals);
    }
}
