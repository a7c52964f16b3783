using System.Diagnostics;
using Ember.Devices.RateLimiting;
using Ember.Devices.Tests.Fakes;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Entropy;
using Ember.Sys;
using Xunit;

namespace Ember.Devices.Tests.Virtio.Entropy;

/// <summary>
/// virtio-rng behind Firecracker's EntropyDevice rate_limiter: bandwidth counts the random bytes a request is
/// given, ops counts requests; a refused request waits for the retry timer, first on a manual clock and then on
/// the real one with a real timerfd, where only the lower bound on the time is asserted.
/// </summary>
public sealed class VirtioEntropyRateLimitTests
{
    private readonly VirtqueueTestDriver _driver = new(size: 16);
    private readonly RecordingVirtioInterrupt _interrupt = new();
    private readonly ManualTimeProvider _clock = new();
    private readonly RecordingOneShotTimer _timer = new();
    private readonly CountingEntropySource _source = new();

    private VirtioEntropy Start(RateLimiterSettings settings)
    {
        var device = new VirtioEntropy(_source, maxQueueSize: 16, limiter: new RateLimiter(settings, _clock));
        device.UseRetryTimer(_timer);
        device.Activate(new VirtioActivation(VirtqueueTestDriver.AllFeatures, _driver.Memory, [_driver.Layout], _interrupt));
        return device;
    }

    [Fact]
    public void ABandwidthLimitHoldsTheRequestThatWouldExceedItUntilTheRetry()
    {
        // 1000 bytes per second: two requests of 400 now, the third when 200 more have come back (200 ms).
        var device = Start(new RateLimiterSettings(new TokenBucketSettings(1000, 1000), null));
        for (int i = 0; i < 3; i++)
            _driver.Post(_driver.Writable(400, fill: 0));

        device.Notify(0);

        Assert.Equal(2, _driver.UsedIndex);
        Assert.Equal([400, 400], _source.Requests);
        Assert.True(device.IsThrottled(0));
        Assert.Equal([TimeSpan.FromMilliseconds(200)], _timer.Armed);

        _clock.Advance(TimeSpan.FromMilliseconds(200));
        device.RetryThrottled();

        Assert.Equal(3, _driver.UsedIndex);
        Assert.Equal(400u, _driver.Used(2).Length);
        Assert.Equal(1, device.Limiter.ThrottledCount);
    }

    [Fact]
    public void TheChargeIsTheBytesDeliveredNotTheBufferTheGuestOffers()
    {
        // A 1 MiB buffer is given 64 KiB, and pays 64 KiB: with 128 KiB in the bucket, two such requests go through.
        var device = Start(new RateLimiterSettings(new TokenBucketSettings(2 * VirtioEntropy.MaxBytesPerRequest, 60_000), null));
        for (int i = 0; i < 3; i++)
            _driver.Post(_driver.Writable(1 << 20, fill: 0));

        device.Notify(0);

        Assert.Equal(2, _driver.UsedIndex);
        Assert.Equal((uint)VirtioEntropy.MaxBytesPerRequest, _driver.Used(1).Length);
        Assert.True(device.IsThrottled(0));
    }

    [Fact]
    public void TheOpsBucketCountsRequests()
    {
        var device = Start(new RateLimiterSettings(null, new TokenBucketSettings(Size: 2, RefillTimeMs: 1000)));
        for (int i = 0; i < 4; i++)
            _driver.Post(_driver.Writable(8, fill: 0));

        device.Notify(0);

        Assert.Equal(2, _driver.UsedIndex);
        Assert.Equal(TimeSpan.FromMilliseconds(500), _timer.Armed[^1]);
        _clock.Advance(TimeSpan.FromMilliseconds(1000));
        device.RetryThrottled();
        Assert.Equal(4, _driver.UsedIndex);
    }

    [Fact]
    public void WithoutBucketsNothingIsHeld()
    {
        var device = Start(new RateLimiterSettings(null, null));
        for (int i = 0; i < 10; i++)
            _driver.Post(_driver.Writable(4096, fill: 0));

        device.Notify(0);

        Assert.Equal(10, _driver.UsedIndex);
        Assert.False(device.IsThrottled(0));
        Assert.Empty(_timer.Armed);
    }

    [Fact]
    public void OnTheRealClockABandwidthLimitCapsTheBytesDelivered()
    {
        const int Requests = 12;
        const uint RequestBytes = 16 * 1024;
        var driver = new VirtqueueTestDriver(size: 16);
        var interrupt = new RecordingVirtioInterrupt();
        // 16 KiB per 100 ms: the first request is paid by the full bucket, the other 11 at 160 KiB/s = 1.1 s.
        var limiter = new RateLimiter(new RateLimiterSettings(new TokenBucketSettings(RequestBytes, 100), null));
        var device = new VirtioEntropy(maxQueueSize: 16, limiter: limiter);
        using var loop = new EventLoop();
        using var retry = new LoopTimer(loop, device.RetryThrottled);
        device.UseRetryTimer(retry);
        loop.Start(ThreadRole.DeviceIo, "rng-throttle-test");
        device.Activate(new VirtioActivation(VirtqueueTestDriver.AllFeatures, driver.Memory, [driver.Layout], interrupt));
        for (int i = 0; i < Requests; i++)
            driver.Post(driver.Writable(RequestBytes, fill: 0));

        var clock = Stopwatch.StartNew();
        device.Notify(0);
        var deadline = TimeSpan.FromSeconds(60);
        while (driver.UsedIndex != Requests && clock.Elapsed < deadline)
            Thread.Sleep(10);
        clock.Stop();

        Assert.Equal(Requests, driver.UsedIndex);
        long delivered = Enumerable.Range(0, Requests).Sum(i => (long)driver.Used((ushort)i).Length);
        Assert.Equal(Requests * (long)RequestBytes, delivered);
        // 176 KiB in at least the 1.1 s the limit allows (a little slack for the timer's microsecond rounding).
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(1050), $"{delivered} bytes went through a 160 KiB/s limit in {clock.Elapsed.TotalMilliseconds:F0} ms");
        Assert.True(limiter.ThrottledCount >= Requests - 1, $"only {limiter.ThrottledCount} refusals");
    }
}
