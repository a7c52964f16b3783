using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Queues;
using Ember.Memory;
using Xunit;

namespace Ember.Devices.Tests.Virtio;

/// <summary>The device side of a split virtqueue (virtio 1.2 §2.7): layout checks, popping chains, the used ring.</summary>
public sealed class SplitVirtqueueTests
{
    private readonly VirtqueueTestDriver _driver = new();

    private DescriptorChain PopOne(SplitVirtqueue queue)
    {
        Assert.True(queue.TryPop(out var chain), $"no chain popped (fault {queue.Fault})");
        return chain;
    }

    [Fact]
    public void WellPlacedLayoutGivesAWorkingQueue()
    {
        var queue = _driver.CreateQueue();

        Assert.False(queue.IsBroken);
        Assert.Equal(QueueFault.None, queue.Fault);
        Assert.False(queue.TryPop(out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(24)]
    [InlineData(65535)]
    public void SizeThatIsNotAPowerOfTwoBreaksTheQueue(int size)
    {
        var layout = _driver.Layout with { Size = (ushort)size };

        var queue = new SplitVirtqueue(layout, _driver.Memory, VirtqueueTestDriver.AllFeatures);

        Assert.Equal(QueueFault.InvalidSize, queue.Fault);
        Assert.False(queue.TryPop(out _));
    }

    [Fact]
    public void SizeAboveTheDeviceMaximumBreaksTheQueue()
    {
        var atMax = new SplitVirtqueue(_driver.Layout, _driver.Memory, 0, maxSize: 16);
        var aboveMax = new SplitVirtqueue(_driver.Layout, _driver.Memory, 0, maxSize: 8);

        Assert.False(atMax.IsBroken);
        Assert.Equal(QueueFault.InvalidSize, aboveMax.Fault);
    }

    [Fact]
    public void MisalignedAreasBreakTheQueue()
    {
        var layout = _driver.Layout;

        Assert.Equal(QueueFault.DescriptorAreaMisaligned, new SplitVirtqueue(layout with { DescriptorArea = layout.DescriptorArea + 8 }, _driver.Memory, 0).Fault);
        Assert.Equal(QueueFault.DriverAreaMisaligned, new SplitVirtqueue(layout with { DriverArea = layout.DriverArea + 1 }, _driver.Memory, 0).Fault);
        Assert.Equal(QueueFault.DeviceAreaMisaligned, new SplitVirtqueue(layout with { DeviceArea = layout.DeviceArea + 2 }, _driver.Memory, 0).Fault);
        // The weakest alignments the spec allows are accepted.
        Assert.False(new SplitVirtqueue(layout with { DriverArea = layout.DriverArea + 2, DeviceArea = layout.DeviceArea + 4 }, _driver.Memory, 0).IsBroken);
    }

    [Fact]
    public void AreasNotWhollyInsideRamBreakTheQueue()
    {
        var layout = _driver.Layout;
        ulong end = VirtqueueTestDriver.RamSize;

        // Descriptor area starts inside RAM but its last descriptor is past the end.
        Assert.Equal(QueueFault.DescriptorAreaOutsideRam, new SplitVirtqueue(layout with { DescriptorArea = end - 0x80 }, _driver.Memory, 0).Fault);
        // The used ring's avail_event (its last two bytes) is past the end: 134 bytes from end - 132.
        Assert.Equal(QueueFault.DeviceAreaOutsideRam, new SplitVirtqueue(layout with { DeviceArea = end - 132 }, _driver.Memory, 0).Fault);
        // An address whose end wraps around 2^64.
        Assert.Equal(QueueFault.DriverAreaOutsideRam, new SplitVirtqueue(layout with { DriverArea = ulong.MaxValue - 1 }, _driver.Memory, 0).Fault);
        // The 134-byte used ring ending two bytes short of the end (the last 4-aligned place) is fine.
        Assert.Equal(134UL, SplitRing.DeviceAreaSize(16));
        Assert.False(new SplitVirtqueue(layout with { DeviceArea = end - 136 }, _driver.Memory, 0).IsBroken);
    }

    [Fact]
    public void PopsAChainWithReadableThenWritableSegments()
    {
        var header = _driver.Readable([1, 2, 3, 4]);
        var body = _driver.Readable([5, 6]);
        var reply = _driver.Writable(32);
        ushort head = _driver.Post(header, body, reply);
        var queue = _driver.CreateQueue();

        var chain = PopOne(queue);

        Assert.False(chain.IsMalformed);
        Assert.Equal(head, chain.HeadIndex);
        Assert.Equal(3, chain.Segments.Count);
        Assert.Equal(2, chain.ReadableCount);
        Assert.Equal(6u, chain.ReadableLength);
        Assert.Equal(32u, chain.WritableLength);
        Assert.Equal(new ChainSegment(new GuestAddress(reply.Address), 32, true), chain.Segments[2]);
        Assert.False(queue.TryPop(out _));
        Assert.Equal(1, queue.NextAvailIndex);
    }

    [Fact]
    public void AChainFromTryPopIsTheCallersAndLaterPopsLeaveItAlone()
    {
        var first = _driver.Writable(8);
        _driver.Post(first);
        _driver.Post(_driver.Readable([9]), _driver.Writable(4));
        var queue = _driver.CreateQueue();

        var a = PopOne(queue);
        var b = PopOne(queue);

        Assert.NotSame(a, b);
        Assert.Equal([new ChainSegment(new GuestAddress(first.Address), 8, true)], a.Segments);
        Assert.Equal(0, a.ReadableCount);
        Assert.Equal(8u, a.WritableLength);
        Assert.Equal(2, b.Segments.Count);
    }

    [Fact]
    public void TryPopIntoRefillsTheGivenChainEachTime()
    {
        var small = _driver.Writable(8);
        ushort firstHead = _driver.Post(_driver.Readable([1, 2]), _driver.Readable([3, 4, 5]), _driver.Writable(16));
        ushort secondHead = _driver.Post(small);
        var queue = _driver.CreateQueue();
        var chain = PopOne(queue);
        Assert.Equal(firstHead, chain.HeadIndex);
        Assert.Equal(3, chain.Segments.Count);
        queue.AddUsed(chain.HeadIndex, 0);

        // The same object, refilled: nothing of the three-segment chain is left in it.
        Assert.True(queue.TryPopInto(chain));
        Assert.Equal(secondHead, chain.HeadIndex);
        Assert.Equal([new ChainSegment(new GuestAddress(small.Address), 8, true)], chain.Segments);
        Assert.Equal(0, chain.ReadableCount);
        Assert.Equal(0u, chain.ReadableLength);
        Assert.Equal(8u, chain.WritableLength);
        Assert.False(queue.TryPopInto(chain));
    }

    [Fact]
    public void ChainsComeOutInOrderAndUsedElementsGoBackInOrder()
    {
        ushort first = _driver.Post(_driver.Writable(8));
        ushort second = _driver.Post(_driver.Readable([9]), _driver.Writable(4));
        var queue = _driver.CreateQueue();

        var a = PopOne(queue);
        var b = PopOne(queue);
        queue.AddUsed(b.HeadIndex, 3);
        queue.AddUsed(a.HeadIndex, 8);

        Assert.Equal(first, a.HeadIndex);
        Assert.Equal(second, b.HeadIndex);
        Assert.Equal(2, _driver.UsedIndex);
        Assert.Equal((second, 3u), _driver.Used(0));
        Assert.Equal((first, 8u), _driver.Used(1));
    }

    [Fact]
    public void AvailAndUsedIndicesWrapPast65535()
    {
        var queue = _driver.CreateQueue();
        var buffer = _driver.Writable(4);
        const int rounds = 65536 + 40;

        for (int i = 0; i < rounds; i++)
        {
            // Two per round keeps the ring half full across the wrap.
            ushort h1 = _driver.Post(buffer);
            ushort h2 = _driver.Post(buffer);
            var c1 = PopOne(queue);
            var c2 = PopOne(queue);
            Assert.Equal(h1, c1.HeadIndex);
            Assert.Equal(h2, c2.HeadIndex);
            queue.AddUsed(c1.HeadIndex, (uint)i);
            queue.AddUsed(c2.HeadIndex, (uint)i);
            Assert.False(queue.TryPop(out _));
        }

        ushort expected = unchecked((ushort)(2 * rounds));
        Assert.False(queue.IsBroken);
        Assert.Equal(expected, queue.NextAvailIndex);
        Assert.Equal(expected, _driver.UsedIndex);
        Assert.Equal((uint)(rounds - 1), _driver.Used((ushort)(expected - 1)).Length);
    }

    [Fact]
    public void AvailIndexExactlyOneRingAheadIsAccepted()
    {
        var buffer = _driver.Writable(4);
        for (int i = 0; i < _driver.Size; i++)
            _driver.Post(buffer);
        var queue = _driver.CreateQueue();

        for (int i = 0; i < _driver.Size; i++)
            PopOne(queue);

        Assert.False(queue.TryPop(out _));
        Assert.False(queue.IsBroken);
    }

    [Fact]
    public void AvailIndexMoreThanOneRingAheadBreaksTheQueue()
    {
        _driver.Post(_driver.Writable(4));
        _driver.WriteAvailIndexRaw((ushort)(_driver.Size + 1));
        var queue = _driver.CreateQueue();

        Assert.False(queue.TryPop(out _));
        Assert.Equal(QueueFault.AvailIndexTooFarAhead, queue.Fault);
        // Broken for good: even a sane idx later is not looked at.
        _driver.WriteAvailIndexRaw(1);
        Assert.False(queue.TryPop(out _));
    }

    [Fact]
    public void AvailIndexMovingBackwardsBreaksTheQueue()
    {
        var buffer = _driver.Writable(4);
        _driver.Post(buffer);
        _driver.Post(buffer);
        var queue = _driver.CreateQueue();
        PopOne(queue);
        PopOne(queue);

        _driver.WriteAvailIndexRaw(1);

        Assert.False(queue.TryPop(out _));
        Assert.Equal(QueueFault.AvailIndexTooFarAhead, queue.Fault);
    }

    [Fact]
    public void HeadIndexOutOfRangeBreaksTheQueue()
    {
        _driver.Publish(_driver.Size);
        var queue = _driver.CreateQueue();

        Assert.False(queue.TryPop(out _));
        Assert.Equal(QueueFault.HeadIndexOutOfRange, queue.Fault);
        // A broken queue writes nothing to the used ring.
        queue.AddUsed(0, 1);
        Assert.Equal(0, _driver.UsedIndex);
    }

    [Fact]
    public void LoopInTheChainIsDroppedAndTheQueueGoesOn()
    {
        var buffer = _driver.Writable(4);
        _driver.WriteDescriptor(0, buffer.Address, 4, SplitRing.DescriptorNext, 1);
        _driver.WriteDescriptor(1, buffer.Address, 4, SplitRing.DescriptorNext, 0);
        _driver.Publish(0);
        var queue = _driver.CreateQueue();

        var chain = PopOne(queue);

        Assert.Equal(ChainFault.TooLong, chain.Fault);
        Assert.Empty(chain.Segments);
        Assert.False(queue.IsBroken);
    }

    [Fact]
    public void DescriptorPointingAtItselfIsALoop()
    {
        var buffer = _driver.Writable(4);
        _driver.WriteDescriptor(5, buffer.Address, 4, SplitRing.DescriptorNext | SplitRing.DescriptorWrite, 5);
        _driver.Publish(5);
        var queue = _driver.CreateQueue();

        Assert.Equal(ChainFault.TooLong, PopOne(queue).Fault);
    }

    [Fact]
    public void ChainUsingEveryDescriptorOnceIsNotALoop()
    {
        var buffer = _driver.Writable(1);
        var buffers = Enumerable.Repeat(buffer, _driver.Size).ToArray();
        _driver.Post(buffers);
        var queue = _driver.CreateQueue();

        var chain = PopOne(queue);

        Assert.False(chain.IsMalformed);
        Assert.Equal(_driver.Size, chain.Segments.Count);
    }

    [Fact]
    public void NextIndexOutOfRangeIsDropped()
    {
        var buffer = _driver.Writable(4);
        _driver.WriteDescriptor(0, buffer.Address, 4, SplitRing.DescriptorNext, _driver.Size);
        _driver.Publish(0);
        var queue = _driver.CreateQueue();

        Assert.Equal(ChainFault.NextIndexOutOfRange, PopOne(queue).Fault);
    }

    [Theory]
    [InlineData(VirtqueueTestDriver.RamSize - 2, 4u)]
    [InlineData(VirtqueueTestDriver.RamSize, 1u)]
    [InlineData(ulong.MaxValue - 1, 4u)]
    [InlineData(0x1000UL, 0xFFFF_FFFFu)]
    public void BufferNotWhollyInsideRamIsDropped(ulong address, uint length)
    {
        _driver.WriteDescriptor(0, address, length, SplitRing.DescriptorWrite, 0);
        _driver.Publish(0);
        var queue = _driver.CreateQueue();

        Assert.Equal(ChainFault.BufferOutsideRam, PopOne(queue).Fault);
    }

    [Fact]
    public void ReadableAfterWritableIsDropped()
    {
        _driver.Post(_driver.Writable(4), _driver.Readable([1]));
        var queue = _driver.CreateQueue();

        Assert.Equal(ChainFault.ReadableAfterWritable, PopOne(queue).Fault);
    }

    [Fact]
    public void LengthsAddingUpPast4GiBAreDropped()
    {
        // 2100 descriptors of 2 MiB each, all over the same RAM: each is inside RAM, their sum is not a u32.
        var driver = new VirtqueueTestDriver(size: 4096);
        ulong shared = driver.Allocate(0x20_0000);
        var buffers = Enumerable.Repeat(new TestBuffer(shared, 0x20_0000, false), 2100).ToArray();
        driver.Post(buffers);
        var queue = driver.CreateQueue();

        Assert.Equal(ChainFault.TotalLengthTooLarge, PopOne(queue).Fault);
    }

    [Fact]
    public void MalformedChainIsReturnedAndTheNextChainWorks()
    {
        _driver.Post(_driver.Writable(4), _driver.Readable([1]));
        ushort good = _driver.Post(_driver.Writable(4));
        var queue = _driver.CreateQueue();

        var bad = PopOne(queue);
        queue.AddUsed(bad.HeadIndex, 0);
        var next = PopOne(queue);

        Assert.True(bad.IsMalformed);
        Assert.False(next.IsMalformed);
        Assert.Equal(good, next.HeadIndex);
        Assert.Equal((bad.HeadIndex, 0u), _driver.Used(0));
    }

    [Fact]
    public void ZeroLengthBuffersAreAllowed()
    {
        _driver.Post(new TestBuffer(0, 0, false), _driver.Writable(2));
        var queue = _driver.CreateQueue();

        var chain = PopOne(queue);

        Assert.False(chain.IsMalformed);
        Assert.Equal(0u, chain.ReadableLength);
        Assert.Equal(2u, chain.WritableLength);
    }

    [Fact]
    public void QueueRestoredFromItsStateCarriesOn()
    {
        var heads = Enumerable.Range(0, 5).Select(_ => _driver.Post(_driver.Writable(4))).ToArray();
        var queue = _driver.CreateQueue(VirtqueueTestDriver.AllFeatures);
        for (int i = 0; i < 3; i++)
            queue.AddUsed(PopOne(queue).HeadIndex, 1);
        Assert.True(queue.NeedsInterrupt());

        var state = queue.GetState();
        var restored = SplitVirtqueue.FromState(state, _driver.Memory);
        var fourth = PopOne(restored);
        restored.AddUsed(fourth.HeadIndex, 2);

        Assert.Equal(new SplitVirtqueueState(_driver.Layout, VirtqueueTestDriver.AllFeatures, SplitRing.MaxQueueSize, 3, 3, 3), state);
        Assert.Equal(heads[3], fourth.HeadIndex);
        Assert.Equal(4, _driver.UsedIndex);
        Assert.Equal((heads[3], 2u), _driver.Used(3));
        Assert.True(restored.EventIndexEnabled);
    }

    [Fact]
    public void StateWithABadLayoutRestoresABrokenQueue()
    {
        var state = _driver.CreateQueue().GetState() with { Layout = _driver.Layout with { DeviceArea = 2 } };

        Assert.Equal(QueueFault.DeviceAreaMisaligned, SplitVirtqueue.FromState(state, _driver.Memory).Fault);
    }
}
