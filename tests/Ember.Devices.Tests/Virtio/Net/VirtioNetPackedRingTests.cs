using System.Buffers.Binary;
using Ember.Devices.Tests.Fakes;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Net;
using Ember.Devices.Virtio.Queues;
using Ember.Memory;

namespace Ember.Devices.Tests.Virtio.Net;

/// <summary>
/// virtio-net over packed rings (virtio 1.2 §2.8): receive chains held until a frame comes, a mergeable frame spread
/// over several buffers published at once (the first buffer's used flags last, §2.8.8), and transmit.
/// </summary>
public sealed class VirtioNetPackedRingTests
{
    private const ulong Features = VirtioNet.DeviceFeatures | NetFeature.Mac;
    private readonly ArrayGuestMemory _memory = ArrayGuestMemory.Create((GuestAddress.Zero, NetTestRig.RamSize));
    private readonly PackedQueueTestDriver _receive;
    private readonly PackedQueueTestDriver _transmit;
    private readonly FakeNetBackend _backend = new();
    private readonly RecordingVirtioInterrupt _interrupt = new();
    private readonly VirtioNet _device;

    public VirtioNetPackedRingTests()
    {
        _receive = new PackedQueueTestDriver(5, _memory, 0x1_0000, 0x10_0000, 0x80_0000);
        _transmit = new PackedQueueTestDriver(3, _memory, 0x9_0000, 0x80_0000, NetTestRig.RamSize);
        _device = new VirtioNet(_backend, MacAddress.Parse("02:00:00:00:00:01"));
        Assert.NotEqual(0UL, Features & VirtioFeature.RingPacked);
    }

    private void Activate() => _device.Activate(new VirtioActivation(Features, _memory, [_receive.Layout, _transmit.Layout], _interrupt));

    [Fact]
    public void AMergeableFrameSpansBuffersOfAPackedRingAndTheNextFrameWrapsIt()
    {
        var buffers = Enumerable.Range(0, 4).Select(_ => _receive.Writable(1000)).ToArray();
        var ids = buffers.Select(b => _receive.Post(b)).ToArray();
        Activate();
        var frame = NetTestRig.Frame(NetTestRig.Header(), NetTestRig.Ethernet(2500 - 12));

        _backend.Incoming.Enqueue(frame);
        _device.OnBackendReady(NetReadiness.Readable);

        Assert.Equal([(ids[0], 1000u), (ids[1], 1000u), (ids[2], 500u)], Enumerable.Range(0, 3).Select(_ => _receive.TakeUsed()!.Value).Select(u => (u.Id, u.Length)));
        Assert.Null(_receive.TakeUsed());
        var received = buffers[..3].SelectMany((b, i) => _receive.ReadBytes(b.Address, i < 2 ? 1000 : 500)).ToArray();
        Assert.Equal(3, BinaryPrimitives.ReadUInt16LittleEndian(received.AsSpan(NetHeaderLayout.NumBuffers)));
        Assert.Equal(frame[12..], received[12..]);
        Assert.Equal([VirtioNet.ReceiveQueue], _interrupt.QueueSignals);

        // Two more buffers: the second sits at position 0 of the next lap.
        var more = new[] { _receive.Writable(1000), _receive.Writable(1000) };
        var moreIds = more.Select(b => _receive.Post(b)).ToArray();
        _device.Notify(VirtioNet.ReceiveQueue);
        for (int i = 0; i < 3; i++)
            _backend.Incoming.Enqueue(NetTestRig.Frame(NetTestRig.Header(), NetTestRig.Ethernet(100, seed: (byte)i)));
        _device.OnBackendReady(NetReadiness.Readable);

        Assert.Equal([ids[3], moreIds[0], moreIds[1]], Enumerable.Range(0, 3).Select(_ => _receive.TakeUsed()!.Value.Id));
        Assert.False(_device.NeedsReset);
    }

    [Fact]
    public void FramesGoOutThroughAPackedTransmitRing()
    {
        Activate();
        var frames = Enumerable.Range(0, 5).Select(i => NetTestRig.Frame(NetTestRig.Header(), NetTestRig.Ethernet(60 + i))).ToArray();
        foreach (var frame in frames)
        {
            // Header and frame in two descriptors: a ring of 3 wraps on every other frame.
            _transmit.Post(_transmit.Readable(frame[..12]), _transmit.Readable(frame[12..]));
            _device.Notify(VirtioNet.TransmitQueue);
            Assert.NotNull(_transmit.TakeUsed());
        }

        Assert.Equal(frames, _backend.Sent);
        Assert.False(_device.NeedsReset);
    }
}
