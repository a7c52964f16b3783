using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Net;
using Ember.Devices.Virtio.Queues;
using Xunit;

namespace Ember.Devices.Tests.Virtio.Net;

/// <summary>virtio-net's transmit queue (virtio 1.2 §5.1.6.2) over a fake backend.</summary>
public sealed class VirtioNetTransmitTests
{
    private readonly NetTestRig _rig = new();
    private readonly FakeNetBackend _backend = new();
    private readonly VirtioNet _device;

    public VirtioNetTransmitTests() => _device = new VirtioNet(_backend, MacAddress.Parse("02:00:00:00:00:01"));

    private VirtqueueTestDriver Tx => _rig.Transmit;

    [Fact]
    public void AFrameGatheredFromSeveralBuffersReachesTheBackendWithItsHeader()
    {
        _rig.Activate(_device);
        // A partial UDP checksum left to the host: NEEDS_CSUM from byte 34, stored 6 further on.
        var header = NetTestRig.Header(flags: NetHeaderLayout.FlagNeedsChecksum, checksumStart: 34, checksumOffset: 6);
        var ethernet = NetTestRig.Ethernet(300);
        ushort head = Tx.Post(Tx.Readable(header), Tx.Readable(ethernet[..14]), Tx.Readable(ethernet[14..]));

        _device.Notify(VirtioNet.TransmitQueue);

        Assert.Equal(NetTestRig.Frame(header, ethernet), Assert.Single(_backend.Sent));
        Assert.Equal(1, Tx.UsedIndex);
        Assert.Equal((head, 0u), Tx.Used(0));
        Assert.Equal([VirtioNet.TransmitQueue], _rig.Interrupt.QueueSignals);
        Assert.Equal(1, _device.FramesSent);
        Assert.Equal(0, _device.TransmitDropped);
    }

    [Fact]
    public void ATsoFrameGoesThroughWhenHostTsoWasNegotiated()
    {
        _rig.Activate(_device);
        var header = NetTestRig.Header(NetHeaderLayout.FlagNeedsChecksum, NetHeaderLayout.GsoTcpV6, headerLength: 74, gsoSize: 1440, checksumStart: 54, checksumOffset: 16);
        var ethernet = NetTestRig.Ethernet(60000);
        Tx.Post(Tx.Readable(header), Tx.Readable(ethernet));

        _device.Notify(VirtioNet.TransmitQueue);

        Assert.Equal(NetTestRig.Frame(header, ethernet), Assert.Single(_backend.Sent));
    }

    [Fact]
    public void NumBuffersIsZeroedOnTheWayOut()
    {
        _rig.Activate(_device);
        Tx.Post(Tx.Readable(NetTestRig.Frame(NetTestRig.Header(numBuffers: 0x1234), NetTestRig.Ethernet(60))));

        _device.Notify(VirtioNet.TransmitQueue);

        var sent = Assert.Single(_backend.Sent);
        Assert.Equal([0, 0], sent[10..12]);
    }

    [Fact]
    public void TheLargestFrameIsSentAndOneByteMoreIsDropped()
    {
        _rig.Activate(_device);
        var largest = NetTestRig.Frame(NetTestRig.Header(), NetTestRig.Ethernet(NetHeaderLayout.MaxFrameLength - NetHeaderLayout.Size));
        var tooLarge = NetTestRig.Frame(NetTestRig.Header(), NetTestRig.Ethernet(NetHeaderLayout.MaxFrameLength - NetHeaderLayout.Size + 1));
        Tx.Post(Tx.Readable(tooLarge));
        Tx.Post(Tx.Readable(largest));

        _device.Notify(VirtioNet.TransmitQueue);

        Assert.Equal(NetHeaderLayout.MaxFrameLength, Assert.Single(_backend.Sent).Length);
        Assert.Equal(2, Tx.UsedIndex);
        Assert.Equal(1, _device.TransmitDropped);
    }

    [Fact]
    public void BadChainsFailAloneAndTheQueueGoesOn()
    {
        _rig.Activate(_device);
        var good = NetTestRig.Frame(NetTestRig.Header(), NetTestRig.Ethernet(64));
        // Shorter than a header and an Ethernet header.
        Tx.Post(Tx.Readable(new byte[NetHeaderLayout.Size + 13]));
        // Only a device-writable buffer: nothing to send.
        Tx.Post(Tx.Writable(100));
        // A next index beyond the table.
        ushort broken = Tx.WriteChain(Tx.Readable(good), Tx.Readable(good));
        Tx.WriteDescriptor(broken, Tx.Allocate(64), 64, SplitRing.DescriptorNext, next: 999);
        Tx.Publish(broken);
        Tx.Post(Tx.Readable(good));

        _device.Notify(VirtioNet.TransmitQueue);

        Assert.Equal(good, Assert.Single(_backend.Sent));
        Assert.Equal(4, Tx.UsedIndex);
        for (ushort i = 0; i < 4; i++)
            Assert.Equal(0u, Tx.Used(i).Length);
        Assert.Equal(3, _device.TransmitDropped);
        Assert.False(_device.NeedsReset);
        Assert.Equal(QueueFault.None, _device.GetQueueFault(VirtioNet.TransmitQueue));
    }

    [Theory]
    [InlineData(NetHeaderLayout.FlagNeedsChecksum, NetHeaderLayout.GsoNone, 0UL)]
    [InlineData(NetHeaderLayout.FlagDataValid, NetHeaderLayout.GsoNone, NetTestRig.AllFeatures)]
    [InlineData(4, NetHeaderLayout.GsoNone, NetTestRig.AllFeatures)]
    [InlineData(NetHeaderLayout.FlagNeedsChecksum, NetHeaderLayout.GsoTcpV4, NetFeature.Checksum | NetFeature.HostTso6)]
    [InlineData(NetHeaderLayout.FlagNeedsChecksum, NetHeaderLayout.GsoTcpV6, NetFeature.Checksum | NetFeature.HostTso4)]
    // HOST_TSO4 without CSUM breaks a dependency (§5.1.3.1) and counts as not negotiated.
    [InlineData(0, NetHeaderLayout.GsoTcpV4, NetFeature.HostTso4)]
    [InlineData(NetHeaderLayout.FlagNeedsChecksum, NetHeaderLayout.GsoUdp, NetTestRig.AllFeatures)]
    [InlineData(NetHeaderLayout.FlagNeedsChecksum, NetHeaderLayout.GsoUdpL4, NetTestRig.AllFeatures)]
    [InlineData(NetHeaderLayout.FlagNeedsChecksum, NetHeaderLayout.GsoTcpV4 | NetHeaderLayout.GsoEcn, NetTestRig.AllFeatures)]
    public void AHeaderAskingForWhatWasNotNegotiatedIsDropped(byte flags, byte gsoType, ulong netFeatures)
    {
        _rig.Activate(_device, VirtioFeature.Version1 | netFeatures);
        Tx.Post(Tx.Readable(NetTestRig.Frame(NetTestRig.Header(flags, gsoType, 54, 1448, 34, 16), NetTestRig.Ethernet(3000))));

        _device.Notify(VirtioNet.TransmitQueue);

        Assert.Empty(_backend.Sent);
        Assert.Equal(1, Tx.UsedIndex);
        Assert.Equal(1, _device.TransmitDropped);
    }

    [Fact]
    public void AFrameTheBackendCannotTakeNowWaitsWithItsChainUntilTheBackendIsWritable()
    {
        _rig.Activate(_device);
        var first = NetTestRig.Frame(NetTestRig.Header(), NetTestRig.Ethernet(60, seed: 1));
        var second = NetTestRig.Frame(NetTestRig.Header(), NetTestRig.Ethernet(60, seed: 2));
        Tx.Post(Tx.Readable(first));
        Tx.Post(Tx.Readable(second));
        _backend.SendResults.Enqueue(NetSendResult.WouldBlock);

        _device.Notify(VirtioNet.TransmitQueue);

        Assert.Empty(_backend.Sent);
        Assert.Equal(0, Tx.UsedIndex);
        Assert.True(_backend.Watching.HasFlag(NetReadiness.Writable));
        Assert.Empty(_rig.Interrupt.QueueSignals);

        // Another notification while blocked tries the same frame again first; the driver's buffers are still the device's.
        _backend.SendResults.Enqueue(NetSendResult.WouldBlock);
        _device.Notify(VirtioNet.TransmitQueue);
        Assert.Empty(_backend.Sent);

        _device.OnBackendReady(NetReadiness.Writable);

        Assert.Equal([first, second], _backend.Sent);
        Assert.Equal(2, Tx.UsedIndex);
        Assert.False(_backend.Watching.HasFlag(NetReadiness.Writable));
        Assert.Equal([VirtioNet.TransmitQueue], _rig.Interrupt.QueueSignals);
    }

    [Fact]
    public void AFrameTheBackendRefusesIsDroppedAndTheNextGoes()
    {
        _rig.Activate(_device);
        var first = NetTestRig.Frame(NetTestRig.Header(), NetTestRig.Ethernet(60, seed: 1));
        var second = NetTestRig.Frame(NetTestRig.Header(), NetTestRig.Ethernet(60, seed: 2));
        Tx.Post(Tx.Readable(first));
        Tx.Post(Tx.Readable(second));
        _backend.SendResults.Enqueue(NetSendResult.Refused);

        _device.Notify(VirtioNet.TransmitQueue);

        Assert.Equal([second], _backend.Sent);
        Assert.Equal(2, Tx.UsedIndex);
        Assert.Equal(1, _device.TransmitDropped);
        Assert.Equal(1, _device.FramesSent);
    }

    [Fact]
    public void TheDriverRewritingItsBufferAfterTheCopyChangesNothingSent()
    {
        // The backend sees the copy taken when the chain was read, even if it takes it only later.
        _rig.Activate(_device);
        var frame = NetTestRig.Frame(NetTestRig.Header(), NetTestRig.Ethernet(60));
        var buffer = Tx.Readable(frame);
        Tx.Post(buffer);
        _backend.SendResults.Enqueue(NetSendResult.WouldBlock);
        _device.Notify(VirtioNet.TransmitQueue);

        _rig.Memory.Write(new Ember.Memory.GuestAddress(buffer.Address), new byte[frame.Length]);
        _device.OnBackendReady(NetReadiness.Writable);

        Assert.Equal(frame, Assert.Single(_backend.Sent));
    }

    [Fact]
    public void ARunAnswersABoundedNumberOfChainsAndComesBackWhenWritable()
    {
        var rig = new NetTestRig(transmitSize: 256);
        rig.Activate(_device);
        var frame = NetTestRig.Frame(NetTestRig.Header(), NetTestRig.Ethernet(60));
        var buffer = rig.Transmit.Readable(frame);
        for (int i = 0; i < 256; i++)
            rig.Transmit.Post(buffer);

        _device.Notify(VirtioNet.TransmitQueue);
        Assert.Equal(256, _backend.Sent.Count);
        // The budget is spent: the device asks to be called back rather than draining on.
        Assert.True(_backend.Watching.HasFlag(NetReadiness.Writable));

        for (int i = 0; i < 10; i++)
            rig.Transmit.Post(buffer);
        _device.OnBackendReady(NetReadiness.Writable);

        Assert.Equal(266, _backend.Sent.Count);
        Assert.Equal(266, rig.Transmit.UsedIndex);
        Assert.False(_backend.Watching.HasFlag(NetReadiness.Writable));
    }

    [Fact]
    public void UnderEventIdxTheDeviceAsksForTheNextNotificationWhenTheQueueRunsDry()
    {
        _rig.Activate(_device);
        Tx.Post(Tx.Readable(NetTestRig.Frame(NetTestRig.Header(), NetTestRig.Ethernet(60))));
        Tx.Post(Tx.Readable(NetTestRig.Frame(NetTestRig.Header(), NetTestRig.Ethernet(60))));

        _device.Notify(VirtioNet.TransmitQueue);

        Assert.Equal(2, Tx.AvailEvent);
    }
}
