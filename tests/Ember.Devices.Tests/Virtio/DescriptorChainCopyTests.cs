using Ember.Devices.Virtio.Queues;
using Xunit;

namespace Ember.Devices.Tests.Virtio;

/// <summary>Copying out of the readable part and into the writable part of a chain, across segments and with caps.</summary>
public sealed class DescriptorChainCopyTests
{
    private readonly VirtqueueTestDriver _driver = new();

    private DescriptorChain PostAndPop(params TestBuffer[] buffers)
    {
        _driver.Post(buffers);
        var queue = _driver.CreateQueue();
        Assert.True(queue.TryPop(out var chain));
        Assert.False(chain.IsMalformed);
        return chain;
    }

    [Fact]
    public void ReaderCopiesAcrossSegmentsInOrder()
    {
        var chain = PostAndPop(_driver.Readable([1, 2, 3]), new TestBuffer(0, 0, false), _driver.Readable([4, 5]), _driver.Writable(8));
        var reader = new DescriptorChainReader(chain, _driver.Memory);
        var first = new byte[4];
        var rest = new byte[10];

        Assert.Equal(5u, reader.Length);
        Assert.Equal(4, reader.Read(first));
        Assert.Equal(1, reader.Read(rest));
        Assert.Equal(0, reader.Read(rest));

        Assert.Equal([1, 2, 3, 4], first);
        Assert.Equal(5, rest[0]);
        Assert.Equal(5u, reader.Position);
        Assert.Equal(0u, reader.Remaining);
    }

    [Fact]
    public void AResetReaderAndWriterStartOverOnTheNewChain()
    {
        var firstReply = _driver.Writable(4);
        var secondReply = _driver.Writable(6, 0xEE);
        _driver.Post(_driver.Readable([1, 2, 3]), firstReply);
        _driver.Post(_driver.Readable([7, 8]), secondReply);
        var queue = _driver.CreateQueue();
        Assert.True(queue.TryPop(out var first));
        Assert.True(queue.TryPop(out var second));
        var reader = new DescriptorChainReader(first, _driver.Memory);
        var writer = new DescriptorChainWriter(first, _driver.Memory, limit: 2);
        Assert.Equal(3, reader.Read(new byte[8]));
        Assert.Equal(2, writer.Write([9, 9, 9]));

        reader.Reset(second, _driver.Memory);
        writer.Reset(second, _driver.Memory);

        Assert.Equal(2u, reader.Length);
        Assert.Equal(0u, reader.Position);
        var bytes = new byte[8];
        Assert.Equal(2, reader.Read(bytes));
        Assert.Equal([7, 8], bytes[..2]);
        // The old cap is gone with the old chain; nothing counts as written yet.
        Assert.Equal(6u, writer.Capacity);
        Assert.Equal(0u, writer.BytesWritten);
        Assert.Equal(3, writer.Write([4, 5, 6]));
        Assert.Equal(3u, writer.BytesWritten);
        Assert.Equal([4, 5, 6, 0xEE, 0xEE, 0xEE], _driver.ReadBytes(secondReply.Address, 6));
        Assert.Equal([9, 9, 0xEE, 0xEE], _driver.ReadBytes(firstReply.Address, 4));
    }

    [Fact]
    public void ReaderTryReadExactConsumesNothingWhenTooShort()
    {
        var chain = PostAndPop(_driver.Readable([1, 2, 3]));
        var reader = new DescriptorChainReader(chain, _driver.Memory);
        var four = new byte[4];
        var three = new byte[3];

        Assert.False(reader.TryReadExact(four));
        Assert.Equal(0u, reader.Position);
        Assert.True(reader.TryReadExact(three));
        Assert.Equal([1, 2, 3], three);
    }

    [Fact]
    public void ReaderSkipsAcrossSegments()
    {
        var chain = PostAndPop(_driver.Readable([1, 2]), _driver.Readable([3, 4, 5]));
        var reader = new DescriptorChainReader(chain, _driver.Memory);
        var buffer = new byte[2];

        Assert.Equal(3u, reader.Skip(3));
        Assert.Equal(2, reader.Read(buffer));
        Assert.Equal([4, 5], buffer);
        Assert.Equal(0u, reader.Skip(1));
    }

    [Fact]
    public void ReaderNeverSeesTheWritablePart()
    {
        var chain = PostAndPop(_driver.Readable([9]), _driver.Writable(4, fill: 0x77));
        var reader = new DescriptorChainReader(chain, _driver.Memory);
        var buffer = new byte[8];

        Assert.Equal(1, reader.Read(buffer));
        Assert.Equal(0, buffer[1]);
    }

    [Fact]
    public void WriterFillsWritableSegmentsInOrderAndCountsBytes()
    {
        var a = _driver.Writable(3);
        var b = _driver.Writable(2);
        var chain = PostAndPop(_driver.Readable([0xAA]), a, b);
        var writer = new DescriptorChainWriter(chain, _driver.Memory);

        Assert.Equal(5u, writer.Capacity);
        Assert.Equal(4, writer.Write([1, 2, 3, 4]));
        Assert.Equal(1, writer.Write([5, 6, 7]));

        Assert.Equal([1, 2, 3], _driver.ReadBytes(a.Address, 3));
        Assert.Equal([4, 5], _driver.ReadBytes(b.Address, 2));
        Assert.Equal(5u, writer.BytesWritten);
        // The readable buffer is untouched.
        Assert.Equal(0xAA, _driver.ReadBytes(chain.Segments[0].Address.Value, 1)[0]);
    }

    [Fact]
    public void WriterStopsAtItsLimit()
    {
        var buffer = _driver.Writable(16, fill: 0xEE);
        var chain = PostAndPop(buffer);
        var writer = new DescriptorChainWriter(chain, _driver.Memory, limit: 4);

        Assert.Equal(4, writer.Write(new byte[16]));

        Assert.Equal(4u, writer.Capacity);
        Assert.Equal([0, 0, 0, 0, 0xEE], _driver.ReadBytes(buffer.Address, 5));
    }

    [Fact]
    public void WriterSkipLeavesBytesAloneAndIsNotCounted()
    {
        var a = _driver.Writable(2, fill: 0xEE);
        var b = _driver.Writable(2, fill: 0xEE);
        var chain = PostAndPop(a, b);
        var writer = new DescriptorChainWriter(chain, _driver.Memory);

        Assert.Equal(3u, writer.Skip(3));
        Assert.Equal(1, writer.Write([0x42, 0x43]));

        Assert.Equal([0xEE, 0xEE], _driver.ReadBytes(a.Address, 2));
        Assert.Equal([0xEE, 0x42], _driver.ReadBytes(b.Address, 2));
        Assert.Equal(1u, writer.BytesWritten);
        Assert.Equal(4u, writer.Position);
        Assert.Equal(0u, writer.Skip(1));
    }

    [Fact]
    public void MalformedChainHasNothingToReadOrWrite()
    {
        _driver.Post(_driver.Writable(4), _driver.Readable([1]));
        var queue = _driver.CreateQueue();
        Assert.True(queue.TryPop(out var chain));

        Assert.Equal(0, new DescriptorChainReader(chain, _driver.Memory).Read(new byte[4]));
        Assert.Equal(0, new DescriptorChainWriter(chain, _driver.Memory).Write([1]));
    }
}
