using System.Runtime.InteropServices;
using Ember.Devices.Tests.Fakes;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Entropy;
using Ember.Devices.Virtio.Queues;
using Ember.Memory;
using Xunit;

namespace Ember.Devices.Tests.Virtio;

/// <summary>
/// A driver thread and a device thread sharing one ring, as a guest and the I/O thread do. The driver
/// notifies only when avail_event says so (vring_need_event); if the device ever stopped without re-checking
/// the ring after publishing avail_event, a notification would be lost and the run would stall.
/// </summary>
public sealed class ConcurrentDriverTests
{
    private const int Requests = 100_000;
    private static readonly TimeSpan Watchdog = TimeSpan.FromSeconds(60);

    [Fact]
    public void EventIndexNotificationsAreNeverLost()
    {
        var driver = new VirtqueueTestDriver(size: 16);
        var interrupt = new RecordingVirtioInterrupt();
        var device = new VirtioEntropy();
        device.Activate(new VirtioActivation(VirtqueueTestDriver.AllFeatures, driver.Memory, [driver.Layout], interrupt));
        var buffer = driver.Writable(8);
        // Interrupts are not needed (the driver polls used idx); ask for none.
        driver.UsedEvent = 0x8000;
        using var doorbell = new SemaphoreSlim(0);
        int notifications = 0;
        Exception? driverFailure = null;

        var driverThread = new Thread(() =>
        {
            try
            {
                ushort avail = 0;
                for (int i = 0; i < Requests; i++)
                {
                    var deadline = DateTime.UtcNow + Watchdog;
                    while ((ushort)(avail - ReadVolatile(driver, driver.Layout.DeviceArea + SplitRing.UsedIndexOffset)) >= driver.Size)
                    {
                        if (DateTime.UtcNow > deadline)
                            throw new TimeoutException($"ring full at request {i}: the device stopped consuming");
                        Thread.Yield();
                    }
                    ushort head = (ushort)(i % driver.Size);
                    driver.WriteDescriptor(head, buffer.Address, buffer.Length, SplitRing.DescriptorWrite, 0);
                    driver.WriteUInt16(driver.Layout.DriverArea + SplitRing.AvailRingOffset + (2UL * head), head);
                    ushort old = avail++;
                    // Ring entry before idx (release), then idx before reading avail_event (full fence).
                    WriteVolatile(driver, driver.Layout.DriverArea + SplitRing.AvailIndexOffset, avail);
                    Interlocked.MemoryBarrier();
                    ushort availEvent = ReadVolatile(driver, driver.Layout.DeviceArea + SplitRing.AvailEventOffset(driver.Size));
                    if (SplitRing.NeedsEvent(availEvent, avail, old))
                    {
                        Interlocked.Increment(ref notifications);
                        doorbell.Release();
                    }
                }
            }
            catch (Exception e)
            {
                driverFailure = e;
            }
        });
        driverThread.Start();

        var finished = DateTime.UtcNow + Watchdog;
        while (ReadVolatile(driver, driver.Layout.DeviceArea + SplitRing.UsedIndexOffset) != unchecked((ushort)Requests) || driverThread.IsAlive)
        {
            if (driverFailure is not null || DateTime.UtcNow > finished)
                break;
            if (doorbell.Wait(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken))
                device.Notify(0);
        }
        driverThread.Join(Watchdog);

        Assert.Null(driverFailure);
        Assert.Equal(unchecked((ushort)Requests), ReadVolatile(driver, driver.Layout.DeviceArea + SplitRing.UsedIndexOffset));
        Assert.False(device.NeedsReset);
        // Suppression worked: far fewer notifications than requests is typical, but never more.
        Assert.InRange(notifications, 1, Requests);
    }

    private static ushort ReadVolatile(VirtqueueTestDriver driver, ulong address) =>
        Volatile.Read(ref MemoryMarshal.AsRef<ushort>(driver.Memory.GetSpan(new GuestAddress(address), 2)));

    private static void WriteVolatile(VirtqueueTestDriver driver, ulong address, ushort value) =>
        Volatile.Write(ref MemoryMarshal.AsRef<ushort>(driver.Memory.GetSpan(new GuestAddress(address), 2)), value);
}
