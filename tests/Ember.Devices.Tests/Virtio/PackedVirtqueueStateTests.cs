using Ember.Devices.Virtio.Queues;

namespace Ember.Devices.Tests.Virtio;

/// <summary>A packed queue's state outside guest memory survives a save and restore, and a forged one is refused.</summary>
public sealed class PackedVirtqueueStateTests
{
    [Fact]
    public void AQueueRestoredMidStreamCarriesOnWithItsWrapCountersAndOutstandingBuffers()
    {
        var driver = new PackedQueueTestDriver(size: 3);
        var queue = driver.CreateQueue();
        // Two laps' worth, leaving one two-descriptor buffer outstanding across the end of the ring.
        for (int i = 0; i < 2; i++)
        {
            driver.Post(driver.Writable(4));
            Assert.True(queue.TryPop(out var chain));
            queue.AddUsed(chain.HeadIndex, 4);
            Assert.NotNull(driver.TakeUsed());
        }
        ushort held = driver.Post(driver.Writable(4), driver.Writable(4));
        Assert.True(queue.TryPop(out _));

        var restored = PackedVirtqueue.FromState(queue.GetState(), driver.Memory);

        Assert.Equal(QueueFault.None, restored.Fault);
        Assert.Equal(queue.GetState() with { DescriptorsById = [] }, restored.GetState() with { DescriptorsById = [] });
        Assert.Equal(queue.GetState().DescriptorsById, restored.GetState().DescriptorsById);
        Assert.False(restored.AvailWrapCounter);
        restored.AddUsed(held, 8);
        Assert.Equal(held, driver.TakeUsed()!.Value.Id);
        ushort next = driver.Post(driver.Writable(4));
        Assert.True(restored.TryPop(out var after));
        Assert.Equal(next, after.HeadIndex);
    }

    [Fact]
    public void AForgedStateGivesABrokenQueue()
    {
        var driver = new PackedQueueTestDriver(size: 4);
        var state = driver.CreateQueue().GetState();

        Assert.Equal(QueueFault.InvalidSavedState, PackedVirtqueue.FromState(state with { NextAvailPosition = 4 }, driver.Memory).Fault);
        Assert.Equal(QueueFault.InvalidSavedState, PackedVirtqueue.FromState(state with { DescriptorsById = [3, 3, 0, 0] }, driver.Memory).Fault);
        Assert.Equal(QueueFault.InvalidSavedState, PackedVirtqueue.FromState(state with { DescriptorsById = [0] }, driver.Memory).Fault);
        Assert.Equal(QueueFault.InvalidSize, PackedVirtqueue.FromState(state with { Layout = state.Layout with { Size = 0 } }, driver.Memory).Fault);
    }
}
