using System.Buffers.Binary;
using Ember.Devices.Tests.Fakes;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Block;
using Ember.Devices.Virtio.Queues;
using Ember.Memory;
using Xunit;

namespace Ember.Devices.Tests.Virtio.Block;

/// <summary>
/// A request in the steady state allocates nothing on the device path (the chain, its segments, the reader and the
/// writer are reused; the rings are reached through windows resolved at activation): a notify that answers a 4 KiB
/// read or write over a real file adds no managed bytes to the calling thread (bar an odd request the runtime itself
/// allocates on). Allocation is counted, not timed.
/// </summary>
public sealed class VirtioBlockAllocationTests : IDisposable
{
    private const int Requests = 200;
    private readonly TemporaryDiskImage _image = new(1 << 20);

    public void Dispose() => _image.Dispose();

    [Theory]
    [InlineData(BlockRequestType.In)]
    [InlineData(BlockRequestType.Out)]
    public void ASteadyStateRequestAllocatesNothing(BlockRequestType type)
    {
        var driver = new VirtqueueTestDriver(64);
        ulong header = driver.Allocate(16);
        ulong data = driver.Allocate(4096, 0x3C);
        ulong status = driver.Allocate(1, 0xEE);
        driver.WriteDescriptor(0, header, 16, SplitRing.DescriptorNext, 1);
        driver.WriteDescriptor(1, data, 4096, (ushort)(SplitRing.DescriptorNext | (type == BlockRequestType.In ? SplitRing.DescriptorWrite : 0)), 2);
        driver.WriteDescriptor(2, status, 1, SplitRing.DescriptorWrite, 0);
        var device = new VirtioBlock(new FileBlockBackend(_image.Handle, readOnly: false), maxQueueSize: 64);
        device.Activate(new VirtioActivation(VirtqueueTestDriver.AllFeatures | BlockFeature.Flush, driver.Memory, [driver.Layout], new RecordingVirtioInterrupt()));
        long Serve(int i)
        {
            Span<byte> request = stackalloc byte[16];
            BinaryPrimitives.WriteUInt32LittleEndian(request, (uint)type);
            BinaryPrimitives.WriteUInt64LittleEndian(request[8..], (ulong)(i % 256) * 8);
            driver.Memory.Write(new GuestAddress(header), request);
            driver.Memory.WriteObject(new GuestAddress(status), (byte)0xEE);
            driver.Publish(0);
            long before = GC.GetAllocatedBytesForCurrentThread();
            device.Notify(0);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Equal(driver.AvailIndex, driver.UsedIndex);
            Assert.Equal((byte)BlockStatus.Ok, driver.Memory.ReadObject<byte>(new GuestAddress(status)));
            return allocated;
        }

        // The first requests set things up (the reused chain's reader and writer, JIT-compiled code).
        for (int i = 0; i < 20; i++)
            Serve(i);
        long total = 0;
        int allocating = 0;
        for (int i = 0; i < Requests; i++)
        {
            long bytes = Serve(20 + i);
            total += bytes;
            if (bytes != 0)
                allocating++;
        }

        // An allocation on the path shows on every request. The runtime may add bytes to an odd one (seen: 1 of 200, 1-7 KB,
        // while other test classes ran beside this one: a GC they began, a method's tier-up), so a few are allowed.
        Assert.True(allocating <= Requests / 20, $"{allocating} of {Requests} {type} requests allocated, {total} bytes in all");
        if (type == BlockRequestType.In)
            Assert.Equal(TemporaryDiskImage.Pattern((219 % 256) * 8 * 512L, 4096), driver.ReadBytes(data, 4096));
        Assert.Equal(type == BlockRequestType.In ? Requests + 20 : 0, device.Reads);
    }
}
