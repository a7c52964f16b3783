using System.Buffers.Binary;
using System.Diagnostics;
using Ember.Devices.RateLimiting;
using Ember.Devices.Tests.Fakes;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Block;
using Ember.Sys;
using Xunit;

namespace Ember.Devices.Tests.Virtio.Block;

/// <summary>
/// The rate limiter on the real clock, with the retry timer a real timerfd on a real event loop and a real
/// disk file: 1 MiB of reads through a 640 KiB/s limit takes at least the time the limit allows. Only that
/// lower bound is asserted (a slower host only makes it longer), and every request is answered in the end.
/// </summary>
public sealed class VirtioBlockThrottledThroughputTests : IDisposable
{
    private const int Requests = 16;
    private const uint RequestBytes = 64 * 1024;
    private readonly TemporaryDiskImage _image = new(Requests * RequestBytes);

    public void Dispose() => _image.Dispose();

    [Fact]
    public void ReadsThroughABandwidthLimitTakeAtLeastTheTimeItAllows()
    {
        var driver = new VirtqueueTestDriver(size: 64);
        var interrupt = new RecordingVirtioInterrupt();
        // 64 KiB per 100 ms: the first request is paid by the full bucket, the other 15 at 640 KiB/s = 1.5 s.
        var limiter = new RateLimiter(new RateLimiterSettings(new TokenBucketSettings(RequestBytes, 100), null));
        var device = new VirtioBlock(new FileBlockBackend(_image.Handle, readOnly: true), "slow", maxQueueSize: 64, limiter: limiter);
        using var loop = new EventLoop();
        using var retry = new LoopTimer(loop, device.RetryThrottled);
        device.UseRetryTimer(retry);
        loop.Start(ThreadRole.DeviceIo, "throttle-test");
        device.Activate(new VirtioActivation(VirtqueueTestDriver.AllFeatures, driver.Memory, [driver.Layout], interrupt));

        var data = new TestBuffer[Requests];
        for (int i = 0; i < Requests; i++)
        {
            var header = new byte[16];
            BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)BlockRequestType.In);
            BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(8), (ulong)i * RequestBytes / 512);
            data[i] = driver.Writable(RequestBytes);
            driver.Post(driver.Readable(header), data[i], driver.Writable(1));
        }

        var clock = Stopwatch.StartNew();
        device.Notify(0);
        var deadline = TimeSpan.FromSeconds(60);
        while (driver.UsedIndex != Requests && clock.Elapsed < deadline)
            Thread.Sleep(10);
        clock.Stop();

        Assert.Equal(Requests, driver.UsedIndex);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(1400), $"1 MiB went through a 640 KiB/s limit in {clock.Elapsed.TotalMilliseconds:F0} ms");
        Assert.True(limiter.ThrottledCount >= Requests - 1, $"only {limiter.ThrottledCount} refusals");
        for (int i = 0; i < Requests; i++)
            Assert.Equal(TemporaryDiskImage.Pattern((long)i * RequestBytes, 64), driver.ReadBytes(data[i].Address, 64));
    }
}
