using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Queues;
using Ember.Memory;
using Xunit;

namespace Ember.Devices.Tests.Virtio;

/// <summary>Indirect descriptor tables (virtio 1.2 §2.7, "Indirect Descriptors") and their hostile forms.</summary>
public sealed class IndirectDescriptorTests
{
    private readonly VirtqueueTestDriver _driver = new();

    private DescriptorChain PopOne(SplitVirtqueue queue)
    {
        Assert.True(queue.TryPop(out var chain), $"no chain popped (fault {queue.Fault})");
        return chain;
    }

    [Fact]
    public void IndirectTableGivesItsSegments()
    {
        var header = _driver.Readable([1, 2, 3]);
        var reply = _driver.Writable(10);
        ushort head = _driver.PostIndirect(header, _driver.Writable(5), reply);
        var queue = _driver.CreateQueue();

        var chain = PopOne(queue);

        Assert.False(chain.IsMalformed);
        Assert.Equal(head, chain.HeadIndex);
        Assert.Equal(3, chain.Segments.Count);
        Assert.Equal(1, chain.ReadableCount);
        Assert.Equal(3u, chain.ReadableLength);
        Assert.Equal(15u, chain.WritableLength);
        Assert.Equal(new GuestAddress(reply.Address), chain.Segments[2].Address);
    }

    [Fact]
    public void IndirectTableCanFollowDirectDescriptors()
    {
        var header = _driver.Readable([7]);
        var reply = _driver.Writable(2);
        ulong table = _driver.Allocate(16);
        _driver.WriteDescriptor(table, 0, reply.Address, 2, SplitRing.DescriptorWrite, 0);
        _driver.WriteDescriptor(0, header.Address, 1, SplitRing.DescriptorNext, 1);
        _driver.WriteDescriptor(1, table, 16, SplitRing.DescriptorIndirect, 0);
        _driver.Publish(0);
        var queue = _driver.CreateQueue();

        var chain = PopOne(queue);

        Assert.False(chain.IsMalformed);
        Assert.Equal(1u, chain.ReadableLength);
        Assert.Equal(2u, chain.WritableLength);
    }

    [Fact]
    public void IndirectWithoutTheFeatureIsDropped()
    {
        _driver.PostIndirect(_driver.Writable(4));
        var queue = _driver.CreateQueue(VirtioFeature.Version1);

        Assert.Equal(ChainFault.IndirectNotNegotiated, PopOne(queue).Fault);
    }

    [Fact]
    public void NestedIndirectIsDropped()
    {
        ulong inner = _driver.Allocate(16);
        _driver.WriteDescriptor(inner, 0, _driver.Writable(4).Address, 4, SplitRing.DescriptorWrite, 0);
        ulong outer = _driver.Allocate(16);
        _driver.WriteDescriptor(outer, 0, inner, 16, SplitRing.DescriptorIndirect, 0);
        _driver.WriteDescriptor(0, outer, 16, SplitRing.DescriptorIndirect, 0);
        _driver.Publish(0);
        var queue = _driver.CreateQueue();

        Assert.Equal(ChainFault.NestedIndirect, PopOne(queue).Fault);
    }

    [Fact]
    public void IndirectTogetherWithNextIsDropped()
    {
        ulong table = _driver.Allocate(16);
        _driver.WriteDescriptor(table, 0, _driver.Writable(4).Address, 4, SplitRing.DescriptorWrite, 0);
        _driver.WriteDescriptor(0, table, 16, SplitRing.DescriptorIndirect | SplitRing.DescriptorNext, 1);
        _driver.WriteDescriptor(1, _driver.Writable(4).Address, 4, SplitRing.DescriptorWrite, 0);
        _driver.Publish(0);
        var queue = _driver.CreateQueue();

        Assert.Equal(ChainFault.IndirectWithNext, PopOne(queue).Fault);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(8u)]
    [InlineData(24u)]
    [InlineData(33u * 16)] // more entries than the device's maximum queue size (32)
    public void IndirectTableWithBadLengthIsDropped(uint length)
    {
        ulong table = _driver.Allocate(33 * 16);
        _driver.WriteDescriptor(0, table, length, SplitRing.DescriptorIndirect, 0);
        _driver.Publish(0);
        var queue = new SplitVirtqueue(_driver.Layout, _driver.Memory, VirtqueueTestDriver.AllFeatures, maxSize: 32);

        Assert.Equal(ChainFault.IndirectTableLength, PopOne(queue).Fault);
    }

    [Fact]
    public void IndirectTableMayHoldMoreEntriesThanTheDriverChoseForTheRing()
    {
        // The driver picked 16 entries of a device maximum of 64; a 40-entry table is still a legal chain.
        var buffers = Enumerable.Range(0, 40).Select(_ => _driver.Writable(1)).ToArray();
        _driver.PostIndirect(buffers);
        var queue = new SplitVirtqueue(_driver.Layout, _driver.Memory, VirtqueueTestDriver.AllFeatures, maxSize: 64);

        var chain = PopOne(queue);

        Assert.False(chain.IsMalformed);
        Assert.Equal(40, chain.Segments.Count);
    }

    [Theory]
    [InlineData(VirtqueueTestDriver.RamSize - 16)]
    [InlineData(ulong.MaxValue - 15)]
    public void IndirectTableOutsideRamIsDropped(ulong table)
    {
        _driver.WriteDescriptor(0, table, 32, SplitRing.DescriptorIndirect, 0);
        _driver.Publish(0);
        var queue = _driver.CreateQueue();

        Assert.Equal(ChainFault.IndirectTableOutsideRam, PopOne(queue).Fault);
    }

    [Fact]
    public void LoopInsideAnIndirectTableIsDropped()
    {
        ulong table = _driver.Allocate(32);
        ulong buffer = _driver.Writable(4).Address;
        _driver.WriteDescriptor(table, 0, buffer, 4, SplitRing.DescriptorWrite | SplitRing.DescriptorNext, 1);
        _driver.WriteDescriptor(table, 1, buffer, 4, SplitRing.DescriptorWrite | SplitRing.DescriptorNext, 0);
        _driver.WriteDescriptor(0, table, 32, SplitRing.DescriptorIndirect, 0);
        _driver.Publish(0);
        var queue = _driver.CreateQueue();

        Assert.Equal(ChainFault.TooLong, PopOne(queue).Fault);
    }

    [Fact]
    public void NextPastTheEndOfTheIndirectTableIsDropped()
    {
        // The main table has 16 entries but this indirect table only 2: next = 2 is out of its range.
        ulong table = _driver.Allocate(32);
        ulong buffer = _driver.Writable(4).Address;
        _driver.WriteDescriptor(table, 0, buffer, 4, SplitRing.DescriptorWrite | SplitRing.DescriptorNext, 2);
        _driver.WriteDescriptor(0, table, 32, SplitRing.DescriptorIndirect, 0);
        _driver.Publish(0);
        var queue = _driver.CreateQueue();

        Assert.Equal(ChainFault.NextIndexOutOfRange, PopOne(queue).Fault);
    }

    [Fact]
    public void BufferOutsideRamInsideAnIndirectTableIsDropped()
    {
        ulong table = _driver.Allocate(16);
        _driver.WriteDescriptor(table, 0, VirtqueueTestDriver.RamSize - 1, 2, SplitRing.DescriptorWrite, 0);
        _driver.WriteDescriptor(0, table, 16, SplitRing.DescriptorIndirect, 0);
        _driver.Publish(0);
        var queue = _driver.CreateQueue();

        Assert.Equal(ChainFault.BufferOutsideRam, PopOne(queue).Fault);
    }
}
