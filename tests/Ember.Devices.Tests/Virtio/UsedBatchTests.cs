using Ember.Devices.Virtio.Queues;
using Xunit;

namespace Ember.Devices.Tests.Virtio;

/// <summary>SplitVirtqueue.AddUsedBatch: several used elements behind one used idx update.</summary>
public sealed class UsedBatchTests
{
    private readonly VirtqueueTestDriver _driver = new(size: 4);

    [Fact]
    public void EveryElementIsWrittenInOrderAndUsedIdxMovesOnceByTheirCount()
    {
        var queue = _driver.CreateQueue();
        for (int i = 0; i < 3; i++)
            _driver.Post(_driver.Writable(16));
        var heads = new List<ushort>();
        while (queue.TryPop(out var chain))
            heads.Add(chain.HeadIndex);

        queue.AddUsedBatch([new UsedElement(heads[0], 16), new UsedElement(heads[1], 16), new UsedElement(heads[2], 5)]);

        Assert.Equal(3, _driver.UsedIndex);
        Assert.Equal(3, queue.UsedIndex);
        Assert.Equal((heads[0], 16u), _driver.Used(0));
        Assert.Equal((heads[1], 16u), _driver.Used(1));
        Assert.Equal((heads[2], 5u), _driver.Used(2));
    }

    [Fact]
    public void ABatchWrapsAroundTheRing()
    {
        var queue = _driver.CreateQueue();
        for (int round = 0; round < 3; round++)
        {
            _driver.Post(_driver.Writable(8));
            _driver.Post(_driver.Writable(8));
            Assert.True(queue.TryPop(out var a));
            Assert.True(queue.TryPop(out var b));
            queue.AddUsedBatch([new UsedElement(a.HeadIndex, 1), new UsedElement(b.HeadIndex, 2)]);
        }

        Assert.Equal(6, _driver.UsedIndex);
        // Slots 0 and 1 hold the third round's elements (indices 4 and 5 wrap onto them).
        Assert.Equal(1u, _driver.Used(4).Length);
        Assert.Equal(2u, _driver.Used(5).Length);
    }

    [Fact]
    public void MoreElementsThanTheRingHoldsIsADeviceBug() =>
        Assert.Throws<ArgumentException>(() => _driver.CreateQueue().AddUsedBatch(new UsedElement[5]));
}
