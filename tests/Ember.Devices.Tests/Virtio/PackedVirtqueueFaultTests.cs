using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Queues;
using Ember.Memory;

namespace Ember.Devices.Tests.Virtio;

/// <summary>
/// Every hostile value a driver can put in a packed ring: layouts that break the queue from the start, ring framing
/// that breaks it later (the device no longer knows where chains start), and chain contents that fail one request.
/// </summary>
public sealed class PackedVirtqueueFaultTests
{
    private readonly PackedQueueTestDriver _driver = new();

    private static DescriptorChain PopOne(PackedVirtqueue queue)
    {
        Assert.True(queue.TryPop(out var chain), $"a chain was available (fault {queue.Fault})");
        return chain;
    }

    public static TheoryData<ushort, ulong, ulong, ulong, QueueFault> BadLayouts => new()
    {
        { 0, 0x1_0000, 0x2_0000, 0x2_0004, QueueFault.InvalidSize },
        { 257, 0x1_0000, 0x2_0000, 0x2_0004, QueueFault.InvalidSize },
        { 8, 0x1_0008, 0x2_0000, 0x2_0004, QueueFault.DescriptorAreaMisaligned },
        { 8, 0x1_0000, 0x2_0002, 0x2_0004, QueueFault.DriverAreaMisaligned },
        { 8, 0x1_0000, 0x2_0000, 0x2_0006, QueueFault.DeviceAreaMisaligned },
        { 8, PackedQueueTestDriver.RamSize - 0x40, 0x2_0000, 0x2_0004, QueueFault.DescriptorAreaOutsideRam },
        { 8, 0xFFFF_FFFF_FFFF_FFF0, 0x2_0000, 0x2_0004, QueueFault.DescriptorAreaOutsideRam },
        { 8, 0x1_0000, PackedQueueTestDriver.RamSize, 0x2_0004, QueueFault.DriverAreaOutsideRam },
        { 8, 0x1_0000, 0x2_0000, PackedQueueTestDriver.RamSize, QueueFault.DeviceAreaOutsideRam },
    };

    [Theory]
    [MemberData(nameof(BadLayouts))]
    public void ABadLayoutGivesAQueueBrokenFromTheStart(ushort size, ulong ring, ulong driverEvent, ulong deviceEvent, QueueFault expected)
    {
        var queue = new PackedVirtqueue(new VirtqueueLayout(size, ring, driverEvent, deviceEvent), _driver.Memory, PackedQueueTestDriver.AllFeatures, maxSize: 256);

        Assert.Equal(expected, queue.Fault);
        Assert.False(queue.TryPop(out _));
        Assert.False(queue.EnableNotification());
        Assert.False(queue.NeedsInterrupt());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(100)]
    [InlineData(256)]
    public void AnySizeUpToTheMaximumIsValidNotOnlyPowersOfTwo(ushort size)
    {
        var driver = new PackedQueueTestDriver(size);

        Assert.Equal(QueueFault.None, driver.CreateQueue(maxSize: 256).Fault);
    }

    [Fact]
    public void AChainLongerThanTheRingBreaksTheQueue()
    {
        var driver = new PackedQueueTestDriver(size: 4);
        var buffer = driver.Writable(4);
        // Every descriptor says NEXT: the chain never ends within the ring.
        driver.PostRaw(0, Enumerable.Repeat((buffer.Address, buffer.Length, (ushort)(PackedRing.DescriptorWrite | PackedRing.DescriptorNext)), 4).ToArray());
        var queue = driver.CreateQueue();

        Assert.False(queue.TryPop(out _));
        Assert.Equal(QueueFault.ChainLongerThanRing, queue.Fault);
    }

    [Fact]
    public void AChainAsLongAsTheRingIsFine()
    {
        var driver = new PackedQueueTestDriver(size: 4);
        var buffer = driver.Writable(4);
        driver.Post(buffer, buffer, buffer, buffer);
        var queue = driver.CreateQueue();

        Assert.Equal(16u, PopOne(queue).WritableLength);
    }

    [Fact]
    public void ADescriptorInsideAChainThatIsNotMarkedAvailableBreaksTheQueue()
    {
        var buffer = _driver.Writable(4);
        _driver.Post(buffer, buffer);
        // The second descriptor carries the wrap counter of the previous lap: not available.
        _driver.WriteRingDescriptor(1, buffer.Address, 4, 0, (ushort)(PackedRing.DescriptorWrite | PackedQueueTestDriver.AvailableBits(false)));
        var queue = _driver.CreateQueue();

        Assert.False(queue.TryPop(out _));
        Assert.Equal(QueueFault.ChainDescriptorNotAvailable, queue.Fault);
    }

    [Fact]
    public void ABufferIdAtOrAboveTheQueueSizeBreaksTheQueue()
    {
        _driver.PostWithId(8, _driver.Writable(4));
        var queue = _driver.CreateQueue();

        Assert.False(queue.TryPop(out _));
        Assert.Equal(QueueFault.BufferIdOutOfRange, queue.Fault);
    }

    [Fact]
    public void ABufferIdStillHeldByTheDeviceBreaksTheQueue()
    {
        _driver.PostWithId(3, _driver.Writable(4));
        var queue = _driver.CreateQueue();
        PopOne(queue);
        _driver.PostRaw(3, [(_driver.Allocate(4), 4, PackedRing.DescriptorWrite)]);

        Assert.False(queue.TryPop(out _));
        Assert.Equal(QueueFault.BufferIdInUse, queue.Fault);
    }

    [Fact]
    public void MoreDescriptorsOutstandingThanTheRingHoldsBreaksTheQueue()
    {
        var driver = new PackedQueueTestDriver(size: 4);
        for (int i = 0; i < 4; i++)
            driver.Post(driver.Writable(4));
        var queue = driver.CreateQueue();
        for (int i = 0; i < 4; i++)
            PopOne(queue);
        // The driver makes slot 0 available again for the next lap although the device never used it.
        driver.WriteRingDescriptor(0, driver.Allocate(4), 4, 0, (ushort)(PackedRing.DescriptorWrite | PackedQueueTestDriver.AvailableBits(false)));

        Assert.False(queue.TryPop(out _));
        Assert.Equal(QueueFault.TooManyOutstanding, queue.Fault);
    }

    [Fact]
    public void AChainRunningIntoDescriptorsTheDeviceStillHoldsBreaksTheQueue()
    {
        var driver = new PackedQueueTestDriver(size: 4);
        driver.Post(driver.Writable(4));
        driver.Post(driver.Writable(4));
        var queue = driver.CreateQueue();
        PopOne(queue);
        PopOne(queue);
        // Three descriptors at positions 2, 3 and 0, but position 0 still belongs to the device.
        var buffer = driver.Writable(4);
        driver.PostRaw(2, [(buffer.Address, 4, PackedRing.DescriptorNext), (buffer.Address, 4, PackedRing.DescriptorNext), (buffer.Address, 4, PackedRing.DescriptorWrite)]);

        Assert.False(queue.TryPop(out _));
        Assert.Equal(QueueFault.TooManyOutstanding, queue.Fault);
    }

    [Fact]
    public void ABrokenQueueIgnoresUseAndStaysBroken()
    {
        _driver.PostWithId(9, _driver.Writable(4));
        var queue = _driver.CreateQueue();
        Assert.False(queue.TryPop(out _));

        queue.AddUsed(0, 0);
        Assert.Null(_driver.TakeUsed());
        Assert.Equal(QueueFault.BufferIdOutOfRange, queue.Fault);
    }

    [Fact]
    public void AReadableBufferAfterAWritableOneFailsOnlyItsOwnRequest()
    {
        ushort bad = _driver.Post(_driver.Writable(4), _driver.Readable([1]));
        ushort good = _driver.Post(_driver.Writable(4));
        var queue = _driver.CreateQueue();

        var chain = PopOne(queue);
        Assert.Equal(ChainFault.ReadableAfterWritable, chain.Fault);
        Assert.Equal(bad, chain.HeadIndex);
        Assert.Empty(chain.Segments);
        queue.AddUsed(chain.HeadIndex, 0);
        Assert.Equal(good, PopOne(queue).HeadIndex);
        Assert.Equal(bad, _driver.TakeUsed()!.Value.Id);
        Assert.False(queue.IsBroken);
    }

    [Theory]
    [InlineData(PackedQueueTestDriver.RamSize - 2, 4u)]
    [InlineData(0xFFFF_FFFF_FFFF_FFFE, 4u)]
    [InlineData(PackedQueueTestDriver.RamSize, 1u)]
    public void ABufferOutsideRamFailsItsRequest(ulong address, uint length)
    {
        _driver.Post(new TestBuffer(address, length, true));
        var queue = _driver.CreateQueue();

        Assert.Equal(ChainFault.BufferOutsideRam, PopOne(queue).Fault);
    }

    [Fact]
    public void LengthsAddingUpPast4GiBFailTheRequest()
    {
        // 2100 descriptors of 2 MiB each over the same RAM: each inside RAM, their sum not a u32.
        var driver = new PackedQueueTestDriver(size: 4096);
        ulong shared = driver.Allocate(0x20_0000);
        driver.Post(Enumerable.Repeat(new TestBuffer(shared, 0x20_0000, false), 2100).ToArray());
        var queue = driver.CreateQueue();

        var chain = PopOne(queue);
        Assert.Equal(ChainFault.TotalLengthTooLarge, chain.Fault);
        // The whole chain was still framed: the device skips all 2100 descriptors when it gives it back.
        Assert.Equal(2100, queue.OutstandingDescriptors);
    }

    [Fact]
    public void IndirectWithoutTheFeatureFailsTheRequest()
    {
        _driver.PostIndirect(_driver.Writable(4));
        var queue = _driver.CreateQueue(PackedQueueTestDriver.AllFeatures & ~VirtioFeature.IndirectDescriptors);

        Assert.Equal(ChainFault.IndirectNotNegotiated, PopOne(queue).Fault);
    }

    [Fact]
    public void AnIndirectDescriptorInsideANextChainFailsTheRequest()
    {
        var entry = _driver.Writable(4);
        ulong table = _driver.WriteIndirectTable([(entry.Address, entry.Length, PackedRing.DescriptorWrite)]);
        _driver.PostRaw(0, [(_driver.Allocate(4), 4, PackedRing.DescriptorNext), (table, PackedRing.DescriptorSize, PackedRing.DescriptorIndirect)]);
        _driver.PostRaw(1, [(table, PackedRing.DescriptorSize, PackedRing.DescriptorIndirect | PackedRing.DescriptorNext), (_driver.Allocate(4), 4, PackedRing.DescriptorWrite)]);
        var queue = _driver.CreateQueue();

        Assert.Equal(ChainFault.IndirectWithNext, PopOne(queue).Fault);
        Assert.Equal(ChainFault.IndirectWithNext, PopOne(queue).Fault);
        Assert.Equal(4, queue.OutstandingDescriptors);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(24u)]
    [InlineData(33 * 16u)]
    public void AnIndirectTableOfABadLengthFailsTheRequest(uint length)
    {
        _driver.PostRaw(0, [(_driver.Allocate(33 * 16), length, PackedRing.DescriptorIndirect)]);
        var queue = _driver.CreateQueue(maxSize: 32);

        Assert.Equal(ChainFault.IndirectTableLength, PopOne(queue).Fault);
    }

    [Fact]
    public void AnIndirectTableOutsideRamFailsTheRequest()
    {
        _driver.PostRaw(0, [(PackedQueueTestDriver.RamSize - 16, 32, PackedRing.DescriptorIndirect)]);
        var queue = _driver.CreateQueue();

        Assert.Equal(ChainFault.IndirectTableOutsideRam, PopOne(queue).Fault);
    }

    [Fact]
    public void AnIndirectEntryOutsideRamOrOutOfOrderFailsTheRequest()
    {
        ulong outside = _driver.WriteIndirectTable([(PackedQueueTestDriver.RamSize, 1, 0)]);
        var w = _driver.Writable(1);
        var r = _driver.Readable([1]);
        ulong misordered = _driver.WriteIndirectTable([(w.Address, 1, PackedRing.DescriptorWrite), (r.Address, 1, 0)]);
        _driver.PostRaw(0, [(outside, PackedRing.DescriptorSize, PackedRing.DescriptorIndirect)]);
        _driver.PostRaw(1, [(misordered, 2 * PackedRing.DescriptorSize, PackedRing.DescriptorIndirect)]);
        var queue = _driver.CreateQueue();

        Assert.Equal(ChainFault.BufferOutsideRam, PopOne(queue).Fault);
        Assert.Equal(ChainFault.ReadableAfterWritable, PopOne(queue).Fault);
    }

    [Fact]
    public void TheDescriptorsAreCopiedOnceSoRewritingThemAfterThePopChangesNothing()
    {
        var buffer = _driver.Writable(4);
        _driver.Post(buffer);
        var queue = _driver.CreateQueue();
        var chain = PopOne(queue);

        _driver.WriteRingDescriptor(0, PackedQueueTestDriver.RamSize - 1, 0x1000, 0, (ushort)(PackedRing.DescriptorWrite | PackedQueueTestDriver.AvailableBits(true)));

        Assert.Equal(new ChainSegment(new GuestAddress(buffer.Address), 4, true), Assert.Single(chain.Segments));
    }
}
