using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Queues;

namespace Ember.Devices.Tests.Virtio;

/// <summary>
/// Packed-ring notifications (virtio 1.2 §2.8.10, §2.8.14): the driver event suppression structure decides the device's
/// interrupts (ENABLE, DISABLE, DESC with off_wrap under EVENT_IDX); the device event suppression structure is where the
/// device asks for the driver's notifications.
/// </summary>
public sealed class PackedEventSuppressionTests
{
    private static void UseOne(PackedQueueTestDriver driver, PackedVirtqueue queue, int descriptors = 1)
    {
        driver.Post(Enumerable.Range(0, descriptors).Select(_ => driver.Writable(4)).ToArray());
        Assert.True(queue.TryPop(out var chain));
        queue.AddUsed(chain.HeadIndex, 4);
        Assert.NotNull(driver.TakeUsed());
    }

    [Fact]
    public void EnableMeansAnInterruptForEveryUseAndNoneWhenNothingWasUsed()
    {
        var driver = new PackedQueueTestDriver();
        var queue = driver.CreateQueue();
        driver.SetDriverEvent(PackedRing.EventFlagsEnable);

        Assert.False(queue.NeedsInterrupt());
        UseOne(driver, queue);
        Assert.True(queue.NeedsInterrupt());
        Assert.False(queue.NeedsInterrupt());
    }

    [Fact]
    public void DisableMeansNoInterrupts()
    {
        var driver = new PackedQueueTestDriver();
        var queue = driver.CreateQueue();
        driver.SetDriverEvent(PackedRing.EventFlagsDisable);

        UseOne(driver, queue);
        Assert.False(queue.NeedsInterrupt());
        UseOne(driver, queue);
        driver.SetDriverEvent(PackedRing.EventFlagsEnable);
        Assert.True(queue.NeedsInterrupt());
    }

    [Fact]
    public void DescInterruptsOnlyWhenTheUsedPositionPassesOffWrap()
    {
        var driver = new PackedQueueTestDriver(size: 6);
        var queue = driver.CreateQueue();
        driver.SetDriverEvent(PackedRing.EventFlagsDesc, offset: 2, wrap: true);

        UseOne(driver, queue);
        Assert.False(queue.NeedsInterrupt());
        UseOne(driver, queue);
        Assert.False(queue.NeedsInterrupt());
        UseOne(driver, queue);
        Assert.True(queue.NeedsInterrupt(), "the descriptor at position 2 was used");
        UseOne(driver, queue);
        Assert.False(queue.NeedsInterrupt());
    }

    [Fact]
    public void DescCountsTheDescriptorsABufferSkipsAndTheWrapCounter()
    {
        var driver = new PackedQueueTestDriver(size: 6);
        var queue = driver.CreateQueue();
        // Position 1 of the second lap (wrap counter 0).
        driver.SetDriverEvent(PackedRing.EventFlagsDesc, offset: 1, wrap: false);

        // Positions 0..2 of the first lap: position 1 of the first lap does not count.
        UseOne(driver, queue, descriptors: 3);
        Assert.False(queue.NeedsInterrupt());
        // Positions 3..5, then 0 of the second lap.
        UseOne(driver, queue, descriptors: 3);
        UseOne(driver, queue);
        Assert.False(queue.NeedsInterrupt());
        // Positions 1..2 of the second lap: a buffer of two covers position 1.
        UseOne(driver, queue, descriptors: 2);
        Assert.True(queue.NeedsInterrupt());
    }

    [Fact]
    public void DescWithoutEventIdxIsNotValidAndIsTreatedAsEnable()
    {
        var driver = new PackedQueueTestDriver();
        var queue = driver.CreateQueue(PackedQueueTestDriver.AllFeatures & ~VirtioFeature.EventIndex);
        driver.SetDriverEvent(PackedRing.EventFlagsDesc, offset: 5, wrap: true);

        UseOne(driver, queue);
        Assert.True(queue.NeedsInterrupt());
    }

    [Theory]
    [InlineData((ushort)3, (ushort)0)]
    [InlineData(PackedRing.EventFlagsDesc, (ushort)0x7FFF)]
    public void ReservedFlagsAndOffsetsOutsideTheRingErrOnTheSideOfAnInterrupt(ushort flags, ushort offset)
    {
        var driver = new PackedQueueTestDriver();
        var queue = driver.CreateQueue();
        driver.SetDriverEvent(flags, offset, wrap: true);

        UseOne(driver, queue);
        Assert.True(queue.NeedsInterrupt());
    }

    [Fact]
    public void AWholeRingUsedBetweenDecisionsAlwaysInterrupts()
    {
        var driver = new PackedQueueTestDriver(size: 4);
        var queue = driver.CreateQueue();
        driver.SetDriverEvent(PackedRing.EventFlagsDesc, offset: 3, wrap: false);

        for (int i = 0; i < 4; i++)
            UseOne(driver, queue);
        Assert.True(queue.NeedsInterrupt());
    }

    [Fact]
    public void WithoutEventIdxTheDeviceAsksForEveryNotification()
    {
        var driver = new PackedQueueTestDriver();
        var queue = driver.CreateQueue(PackedQueueTestDriver.AllFeatures & ~VirtioFeature.EventIndex);
        driver.DeviceEventFlags = PackedRing.EventFlagsDisable;

        Assert.False(queue.EnableNotification());
        Assert.Equal(PackedRing.EventFlagsEnable, driver.DeviceEventFlags);
    }

    [Fact]
    public void UnderEventIdxTheDeviceAsksForTheNextDescriptorWithItsWrapCounter()
    {
        var driver = new PackedQueueTestDriver(size: 3);
        var queue = driver.CreateQueue();

        Assert.False(queue.EnableNotification());
        Assert.Equal(PackedRing.EventFlagsDesc, driver.DeviceEventFlags);
        Assert.Equal(PackedRing.EventWrapBit | 0, driver.DeviceEventOffWrap);

        UseOne(driver, queue, descriptors: 2);
        UseOne(driver, queue, descriptors: 2);
        // Four descriptors into a ring of three: position 1 of the second lap, wrap counter 0.
        Assert.False(queue.EnableNotification());
        Assert.Equal((ushort)1, driver.DeviceEventOffWrap);
    }

    [Fact]
    public void EnableNotificationLooksAgainAndSeesABufferAddedMeanwhile()
    {
        var driver = new PackedQueueTestDriver();
        var queue = driver.CreateQueue();
        Assert.False(queue.TryPop(out _));

        driver.Post(driver.Writable(4));

        Assert.True(queue.EnableNotification());
        Assert.True(queue.TryPop(out _));
    }
}
