using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Queues;
using Xunit;

namespace Ember.Devices.Tests.Virtio;

/// <summary>
/// When the device interrupts the driver and asks to be notified (virtio 1.2 §2.7, "Used Buffer Notification
/// Suppression" and "Available Buffer Notification Suppression"): VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event
/// and avail_event under VIRTIO_F_EVENT_IDX.
/// </summary>
public sealed class NotificationSuppressionTests
{
    private readonly VirtqueueTestDriver _driver = new();
    private readonly TestBuffer _buffer;

    public NotificationSuppressionTests() => _buffer = _driver.Writable(4);

    private void UseOne(SplitVirtqueue queue)
    {
        _driver.Post(_buffer);
        Assert.True(queue.TryPop(out var chain));
        queue.AddUsed(chain.HeadIndex, 0);
    }

    [Theory]
    // event, new, old: true when (old, new] contains event + 1, modulo 2^16.
    [InlineData(0, 1, 0, true)]
    [InlineData(1, 1, 0, false)]
    [InlineData(4, 6, 2, true)]
    [InlineData(5, 6, 2, true)]
    [InlineData(6, 6, 2, false)]
    [InlineData(1, 6, 2, false)]
    [InlineData(65535, 0, 65534, true)]
    [InlineData(65534, 1, 65533, true)]
    [InlineData(0, 1, 65533, true)]
    [InlineData(1, 1, 65533, false)]
    public void NeedsEventFollowsTheSpecFormula(int eventIndex, int newIndex, int oldIndex, bool expected) =>
        Assert.Equal(expected, SplitRing.NeedsEvent((ushort)eventIndex, (ushort)newIndex, (ushort)oldIndex));

    [Fact]
    public void WithoutEventIndexEveryUseInterruptsUnlessTheDriverSaysNo()
    {
        var queue = _driver.CreateQueue(VirtioFeature.Version1);

        UseOne(queue);
        Assert.True(queue.NeedsInterrupt());

        _driver.AvailFlags = SplitRing.AvailNoInterrupt;
        UseOne(queue);
        Assert.False(queue.NeedsInterrupt());

        _driver.AvailFlags = 0;
        UseOne(queue);
        Assert.True(queue.NeedsInterrupt());
    }

    [Fact]
    public void NothingUsedMeansNoInterrupt()
    {
        var queue = _driver.CreateQueue(VirtioFeature.Version1);

        Assert.False(queue.NeedsInterrupt());
        UseOne(queue);
        Assert.True(queue.NeedsInterrupt());
        Assert.False(queue.NeedsInterrupt());
    }

    [Fact]
    public void WithEventIndexTheDeviceInterruptsOnlyWhenUsedIdxPassesUsedEvent()
    {
        var queue = _driver.CreateQueue(VirtqueueTestDriver.AllFeatures);
        // The driver wants an interrupt once the used entry with index 3 is written (used idx becomes 4).
        _driver.UsedEvent = 3;

        UseOne(queue); // used idx 1
        Assert.False(queue.NeedsInterrupt());
        UseOne(queue); // 2
        UseOne(queue); // 3
        Assert.False(queue.NeedsInterrupt());
        UseOne(queue); // 4
        Assert.True(queue.NeedsInterrupt());
        UseOne(queue); // 5: used_event stayed behind, so no more interrupts
        Assert.False(queue.NeedsInterrupt());
    }

    [Fact]
    public void WithEventIndexABatchThatStepsOverUsedEventInterruptsOnce()
    {
        var queue = _driver.CreateQueue(VirtqueueTestDriver.AllFeatures);
        _driver.UsedEvent = 1;

        UseOne(queue);
        UseOne(queue);
        UseOne(queue);

        Assert.True(queue.NeedsInterrupt());
        Assert.False(queue.NeedsInterrupt());
    }

    [Fact]
    public void WithEventIndexTheNoInterruptFlagIsIgnored()
    {
        var queue = _driver.CreateQueue(VirtqueueTestDriver.AllFeatures);
        _driver.AvailFlags = SplitRing.AvailNoInterrupt;
        _driver.UsedEvent = 0;

        UseOne(queue);

        Assert.True(queue.NeedsInterrupt());
    }

    [Fact]
    public void EnableNotificationPublishesAvailEventAtWhatWasConsumed()
    {
        var queue = _driver.CreateQueue(VirtqueueTestDriver.AllFeatures);
        UseOne(queue);
        UseOne(queue);

        Assert.False(queue.EnableNotification());
        Assert.Equal(2, _driver.AvailEvent);
    }

    [Fact]
    public void EnableNotificationReportsABufferAddedInTheMeantime()
    {
        var queue = _driver.CreateQueue(VirtqueueTestDriver.AllFeatures);
        UseOne(queue);
        _driver.Post(_buffer);

        Assert.True(queue.EnableNotification());
        Assert.True(queue.TryPop(out _));
        Assert.False(queue.EnableNotification());
    }

    [Fact]
    public void WithoutEventIndexAvailEventIsLeftAlone()
    {
        var queue = _driver.CreateQueue(VirtioFeature.Version1);
        _driver.WriteUInt16(_driver.Layout.DeviceArea + SplitRing.AvailEventOffset(_driver.Size), 0xBEEF);
        UseOne(queue);

        Assert.False(queue.EnableNotification());
        Assert.Equal(0xBEEF, _driver.AvailEvent);
    }
}
