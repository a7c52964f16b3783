using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Queues;
using Ember.Memory;
using Xunit;

namespace Ember.Devices.Tests.Virtio;

/// <summary>
/// A ring area may straddle two contiguous memory regions (it only has to lie inside RAM). Such an area has no window
/// of its own, so the queue reaches it through guest memory access by access; every slot must still work, round after
/// round, for whichever area it is, with EVENT_IDX's fields too.
/// </summary>
public sealed class SplitRingsAcrossRegionsTests
{
    private const ushort Size = 16;
    private const ulong Boundary = 0x20_0000;

    /// <summary>
    /// Where the descriptor table goes so that the named area crosses the boundary (the test driver packs the driver
    /// area right after the table, the device area 4-aligned after that): 256 bytes of table, 38 of driver area, 134 of device area.
    /// </summary>
    [Theory]
    [InlineData("descriptor table", Boundary - 0x80)]
    [InlineData("driver area", Boundary - 272)]
    [InlineData("device area", Boundary - 320)]
    public void EverySlotWorksWhenAnAreaStraddlesARegionBoundary(string area, ulong descriptorArea)
    {
        var memory = ArrayGuestMemory.Create((GuestAddress.Zero, Boundary), (new GuestAddress(Boundary), VirtqueueTestDriver.RamSize - Boundary));
        var driver = new VirtqueueTestDriver(Size, memory, descriptorArea, 0x30_0000, VirtqueueTestDriver.RamSize);
        var layout = driver.Layout;
        ulong start = area switch
        {
            "descriptor table" => layout.DescriptorArea,
            "driver area" => layout.DriverArea,
            _ => layout.DeviceArea,
        };
        ulong length = area switch
        {
            "descriptor table" => SplitRing.DescriptorAreaSize(Size),
            "driver area" => SplitRing.DriverAreaSize(Size),
            _ => SplitRing.DeviceAreaSize(Size),
        };
        Assert.True(start < Boundary && start + length > Boundary, $"the {area} [0x{start:x}, 0x{start + length:x}) does not cross 0x{Boundary:x}");
        var queue = new SplitVirtqueue(layout, memory, VirtqueueTestDriver.AllFeatures);
        Assert.False(queue.IsBroken, $"the layout was refused: {queue.Fault}");
        var header = driver.Readable([1, 2, 3]);
        var reply = driver.Writable(8);

        // Three times round the ring, so every descriptor, avail and used slot is used (the chain takes two descriptors).
        for (int round = 0; round < 3 * Size; round++)
        {
            driver.UsedEvent = driver.AvailIndex;
            ushort head = driver.Post(header, reply);
            Assert.True(queue.TryPop(out var chain), $"request {round}: nothing popped");
            Assert.False(chain.IsMalformed, $"request {round}: {chain.Fault}");
            Assert.Equal(head, chain.HeadIndex);
            Assert.Equal([new ChainSegment(new GuestAddress(header.Address), 3, false), new ChainSegment(new GuestAddress(reply.Address), 8, true)], chain.Segments);
            queue.AddUsed(chain.HeadIndex, (uint)round);
            Assert.False(queue.EnableNotification(), $"request {round}: more seen than was posted");
            Assert.True(queue.NeedsInterrupt(), $"request {round}: used_event {driver.AvailIndex - 1} was stepped over but no interrupt wanted");

            Assert.Equal(driver.AvailIndex, driver.UsedIndex);
            Assert.Equal((head, (uint)round), driver.Used((ushort)(driver.UsedIndex - 1)));
            Assert.Equal(driver.AvailIndex, driver.AvailEvent);
        }
        Assert.False(queue.IsBroken, $"the queue broke: {queue.Fault}");
    }
}
