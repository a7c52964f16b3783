using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Queues;
using Ember.Memory;

namespace Ember.Devices.Tests.Virtio;

/// <summary>The packed ring's normal path (virtio 1.2 §2.8): chains, ids, used descriptors, skipping and wrap counters.</summary>
public sealed class PackedVirtqueueTests
{
    private static DescriptorChain PopOne(PackedVirtqueue queue)
    {
        Assert.True(queue.TryPop(out var chain), $"a chain was available (fault {queue.Fault})");
        return chain;
    }

    [Fact]
    public void AZeroedRingHasNothingAvailable()
    {
        var driver = new PackedQueueTestDriver();
        var queue = driver.CreateQueue();

        Assert.False(queue.TryPop(out _));
        Assert.False(queue.IsBroken);
    }

    [Fact]
    public void TheFactoryPicksThePackedFormatOnlyWhenRingPackedWasNegotiated()
    {
        var driver = new PackedQueueTestDriver();

        Assert.IsType<PackedVirtqueue>(IVirtqueue.Create(driver.Layout, driver.Memory, PackedQueueTestDriver.AllFeatures, 256));
        Assert.IsType<SplitVirtqueue>(IVirtqueue.Create(driver.Layout, driver.Memory, PackedQueueTestDriver.AllFeatures & ~VirtioFeature.RingPacked, 256));
    }

    [Fact]
    public void AChainIsPoppedWithItsBufferIdAndUsedInPlaceOfItsFirstDescriptor()
    {
        var driver = new PackedQueueTestDriver();
        var header = driver.Readable([1, 2, 3, 4]);
        var body = driver.Readable([5, 6]);
        var status = driver.Writable(3);
        ushort id = driver.PostWithId(5, header, body, status);
        var queue = driver.CreateQueue();

        var chain = PopOne(queue);
        Assert.Equal(id, chain.HeadIndex);
        Assert.False(chain.IsMalformed);
        Assert.Equal(2, chain.ReadableCount);
        Assert.Equal(6u, chain.ReadableLength);
        Assert.Equal(3u, chain.WritableLength);
        Assert.Equal([new ChainSegment(new GuestAddress(header.Address), 4, false), new ChainSegment(new GuestAddress(body.Address), 2, false), new ChainSegment(new GuestAddress(status.Address), 3, true)], chain.Segments);
        Assert.Equal(3, queue.OutstandingDescriptors);
        Assert.False(queue.TryPop(out _));

        var writer = new DescriptorChainWriter(chain, driver.Memory);
        writer.Write([9, 8, 7]);
        queue.AddUsed(chain.HeadIndex, writer.BytesWritten);

        Assert.Equal([9, 8, 7], driver.ReadBytes(status.Address, 3));
        var used = driver.TakeUsed();
        Assert.NotNull(used);
        Assert.Equal((ushort)5, used.Value.Id);
        Assert.Equal(3u, used.Value.Length);
        // Used at position 0 with wrap counter 1: AVAIL = USED = 1, and WRITE because data was written (§2.8.3).
        Assert.Equal(PackedRing.DescriptorAvail | PackedRing.DescriptorUsed | PackedRing.DescriptorWrite, used.Value.Flags);
        Assert.Equal((ushort)3, queue.NextUsedPosition);
        Assert.Equal(0, queue.OutstandingDescriptors);
    }

    [Fact]
    public void AUsedDescriptorWithNothingWrittenHasNoWriteFlag()
    {
        var driver = new PackedQueueTestDriver();
        ushort id = driver.Post(driver.Readable([1]));
        var queue = driver.CreateQueue();

        queue.AddUsed(PopOne(queue).HeadIndex, 0);

        var used = driver.TakeUsed();
        Assert.Equal(id, used!.Value.Id);
        Assert.Equal(0, used.Value.Flags & PackedRing.DescriptorWrite);
    }

    [Fact]
    public void BuffersUsedOutOfOrderAreWrittenInCompletionOrderAndTheDeviceSkipsEachOnesDescriptors()
    {
        var driver = new PackedQueueTestDriver();
        ushort first = driver.Post(driver.Readable([1]), driver.Readable([2]), driver.Writable(1));
        ushort second = driver.Post(driver.Writable(4));
        var queue = driver.CreateQueue();
        var a = PopOne(queue);
        var b = PopOne(queue);

        queue.AddUsed(b.HeadIndex, 4);
        queue.AddUsed(a.HeadIndex, 1);

        // The first used descriptor lands at position 0 with the second buffer's id; the driver skips 1 (that buffer's
        // size), finds the first buffer at position 1, skips 3; the device is at 1 + 3 = 4 as well.
        Assert.Equal(second, driver.TakeUsed()!.Value.Id);
        Assert.Equal(first, driver.TakeUsed()!.Value.Id);
        Assert.Null(driver.TakeUsed());
        Assert.Equal((ushort)4, queue.NextUsedPosition);
        Assert.Equal(driver.NextUsed, queue.NextUsedPosition);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(3)]
    [InlineData(7)]
    public void ChainsKeepFlowingAcrossManyWrapsOfARingWhoseSizeIsNotAPowerOfTwo(ushort size)
    {
        var driver = new PackedQueueTestDriver(size);
        var queue = driver.CreateQueue();
        int wrapsSeen = 0;
        bool lastWrap = queue.AvailWrapCounter;
        for (int round = 0; round < 40; round++)
        {
            // Chains of two descriptors step over the end of an odd-sized ring on every other lap.
            byte tag = (byte)round;
            var output = driver.Readable([tag, (byte)(tag + 1)]);
            var input = driver.Writable(2);
            ushort id = driver.Post(output, input);

            var chain = PopOne(queue);
            Assert.Equal(id, chain.HeadIndex);
            var bytes = new byte[2];
            Assert.True(new DescriptorChainReader(chain, driver.Memory).TryReadExact(bytes));
            Assert.Equal([tag, (byte)(tag + 1)], bytes);
            var writer = new DescriptorChainWriter(chain, driver.Memory);
            writer.Write([(byte)~tag, tag]);
            queue.AddUsed(chain.HeadIndex, writer.BytesWritten);
            Assert.False(queue.TryPop(out _));

            var used = driver.TakeUsed();
            Assert.NotNull(used);
            Assert.Equal(id, used.Value.Id);
            Assert.Equal([(byte)~tag, tag], driver.ReadBytes(input.Address, 2));
            if (queue.AvailWrapCounter != lastWrap)
            {
                wrapsSeen++;
                lastWrap = queue.AvailWrapCounter;
            }
            Assert.Equal(driver.AvailWrap, queue.AvailWrapCounter);
            Assert.Equal(driver.UsedWrap, queue.UsedWrapCounter);
            Assert.Equal(driver.NextAvail, queue.NextAvailPosition);
            Assert.Equal(driver.NextUsed, queue.NextUsedPosition);
        }
        Assert.True(wrapsSeen >= 80 / size - 1, $"the ring wrapped {wrapsSeen} times");
        Assert.False(queue.IsBroken);
    }

    [Fact]
    public void AFullRingIsTakenWholeAndRefilledAfterItsBuffersAreUsed()
    {
        var driver = new PackedQueueTestDriver(size: 4);
        var queue = driver.CreateQueue();
        for (int lap = 0; lap < 3; lap++)
        {
            var ids = Enumerable.Range(0, 4).Select(_ => driver.Post(driver.Writable(8))).ToArray();
            var chains = Enumerable.Range(0, 4).Select(_ => PopOne(queue)).ToArray();
            Assert.Equal(ids, chains.Select(c => c.HeadIndex));
            Assert.False(queue.TryPop(out _));
            Assert.Equal(4, queue.OutstandingDescriptors);
            foreach (var chain in chains.Reverse())
                queue.AddUsed(chain.HeadIndex, 8);
            Assert.Equal(ids.Reverse(), Enumerable.Range(0, 4).Select(_ => driver.TakeUsed()!.Value.Id));
        }
        Assert.False(queue.IsBroken);
    }

    [Fact]
    public void AnIndirectTableIsOneRingDescriptorWhoseEntriesCarryOnlyTheWriteFlag()
    {
        var driver = new PackedQueueTestDriver();
        var header = driver.Readable([1, 2]);
        var data = driver.Writable(16);
        var status = driver.Writable(1);
        // NEXT and INDIRECT inside a packed indirect table are reserved and ignored (§2.8.7): entries are read in order.
        ulong table = driver.WriteIndirectTable([
            (header.Address, header.Length, PackedRing.DescriptorNext | PackedRing.DescriptorIndirect),
            (data.Address, data.Length, PackedRing.DescriptorWrite | PackedRing.DescriptorNext),
            (status.Address, status.Length, PackedRing.DescriptorWrite),
        ]);
        driver.PostRaw(2, [(table, 3 * PackedRing.DescriptorSize, PackedRing.DescriptorIndirect | PackedRing.DescriptorWrite)]);
        ushort next = driver.Post(driver.Writable(4));
        var queue = driver.CreateQueue();

        var chain = PopOne(queue);
        Assert.False(chain.IsMalformed);
        Assert.Equal((ushort)2, chain.HeadIndex);
        Assert.Equal(1, chain.ReadableCount);
        Assert.Equal(2u, chain.ReadableLength);
        Assert.Equal(17u, chain.WritableLength);
        Assert.Equal(1, queue.OutstandingDescriptors);
        Assert.Equal(next, PopOne(queue).HeadIndex);
        queue.AddUsed(2, 17);
        Assert.Equal((ushort)1, queue.NextUsedPosition);
    }

    [Fact]
    public void PostIndirectBuildsTheSameChainAsDirectDescriptors()
    {
        var driver = new PackedQueueTestDriver();
        var read = driver.Readable([7, 7, 7]);
        var write = driver.Writable(5);
        driver.PostIndirect(read, write);
        var queue = driver.CreateQueue();

        var chain = PopOne(queue);
        Assert.Equal([new ChainSegment(new GuestAddress(read.Address), 3, false), new ChainSegment(new GuestAddress(write.Address), 5, true)], chain.Segments);
    }

    [Fact]
    public void ABatchIsPublishedWholeAndEachBufferIsSkippedBySize()
    {
        var driver = new PackedQueueTestDriver(size: 6);
        ushort a = driver.Post(driver.Writable(8), driver.Writable(8));
        ushort b = driver.Post(driver.Writable(8));
        ushort c = driver.Post(driver.Writable(8), driver.Writable(8), driver.Writable(8));
        var queue = driver.CreateQueue();
        var chains = new[] { PopOne(queue), PopOne(queue), PopOne(queue) };

        queue.AddUsedBatch([new UsedElement(chains[0].HeadIndex, 16), new UsedElement(chains[1].HeadIndex, 8), new UsedElement(chains[2].HeadIndex, 24)]);

        Assert.Equal([(a, 16u), (b, 8u), (c, 24u)], Enumerable.Range(0, 3).Select(_ => driver.TakeUsed()!.Value).Select(u => (u.Id, u.Length)));
        Assert.Equal((ushort)0, queue.NextUsedPosition);
        Assert.False(queue.UsedWrapCounter);
        Assert.Equal(0, queue.OutstandingDescriptors);
    }

    [Fact]
    public void HandingBackABufferTheQueueNeverGaveOutIsADeviceBug()
    {
        var driver = new PackedQueueTestDriver();
        var queue = driver.CreateQueue();

        Assert.Throws<InvalidOperationException>(() => queue.AddUsed(3, 0));
        Assert.Throws<InvalidOperationException>(() => queue.AddUsed(100, 0));
    }
}
