using System.Buffers.Binary;
using Ember.Devices.RateLimiting;
using Ember.Devices.Tests.Fakes;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Block;
using Xunit;

namespace Ember.Devices.Tests.Virtio.Block;

/// <summary>
/// virtio-blk behind Firecracker's rate limiter on a manual clock: a refused request is held, not answered,
/// the queue stops behind it, the retry timer is armed for when it can go, and PATCH changes take effect.
/// </summary>
public sealed class VirtioBlockRateLimitTests
{
    private const int Sectors = 64;
    private readonly VirtqueueTestDriver _driver = new(size: 16);
    private readonly RecordingVirtioInterrupt _interrupt = new();
    private readonly RecordingBlockBackend _backend = new(Sectors);
    private readonly ManualTimeProvider _clock = new();
    private readonly RecordingOneShotTimer _timer = new();

    private VirtioBlock Start(RateLimiterSettings settings)
    {
        var device = new VirtioBlock(_backend, "limited", maxQueueSize: 16, limiter: new RateLimiter(settings, _clock));
        device.UseRetryTimer(_timer);
        device.Activate(new VirtioActivation(VirtqueueTestDriver.AllFeatures, _driver.Memory, [_driver.Layout], _interrupt));
        return device;
    }

    /// <summary>Posts (without notifying) a read of <paramref name="length"/> bytes at sector 0.</summary>
    private void PostRead(uint length)
    {
        var header = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)BlockRequestType.In);
        _driver.Post(_driver.Readable(header), _driver.Writable(length), _driver.Writable(1));
    }

    [Fact]
    public void ARequestOverTheBandwidthWaitsForTheRetryTimerAndIsThenAnswered()
    {
        // 8 KiB per second: two 4 KiB reads now, the third after 500 ms.
        var device = Start(new RateLimiterSettings(new TokenBucketSettings(8192, 1000), null));
        for (int i = 0; i < 3; i++)
            PostRead(4096);

        device.Notify(0);

        Assert.Equal(2, _driver.UsedIndex);
        Assert.True(device.IsThrottled(0));
        Assert.Equal([TimeSpan.FromMilliseconds(500)], _timer.Armed);
        Assert.Equal(2, _backend.Calls.Count(c => c.StartsWith("read", StringComparison.Ordinal)));

        // A notification before the time is up changes nothing but the next wake-up.
        _clock.Advance(TimeSpan.FromMilliseconds(250));
        device.Notify(0);
        Assert.Equal(2, _driver.UsedIndex);
        Assert.Equal(TimeSpan.FromMilliseconds(250), _timer.Armed[^1]);

        _clock.Advance(TimeSpan.FromMilliseconds(250));
        device.RetryThrottled();

        Assert.Equal(3, _driver.UsedIndex);
        Assert.False(device.IsThrottled(0));
        Assert.Equal(4096u + 1, _driver.Used(2).Length);
        Assert.Equal(2, device.Limiter.ThrottledCount);
    }

    [Fact]
    public void TheOpsBucketCountsRequestsWhateverTheirSize()
    {
        var device = Start(new RateLimiterSettings(null, new TokenBucketSettings(Size: 2, RefillTimeMs: 100)));
        for (int i = 0; i < 5; i++)
            PostRead(512);

        device.Notify(0);

        Assert.Equal(2, _driver.UsedIndex);
        Assert.Equal(TimeSpan.FromMilliseconds(50), _timer.Armed[^1]);
        _clock.Advance(TimeSpan.FromMilliseconds(100));
        device.RetryThrottled();
        Assert.Equal(4, _driver.UsedIndex);
    }

    [Fact]
    public void LiftingTheLimitAnswersTheHeldRequestAndTheRest()
    {
        var device = Start(new RateLimiterSettings(new TokenBucketSettings(4096, 60_000), null));
        for (int i = 0; i < 4; i++)
            PostRead(4096);
        device.Notify(0);
        Assert.Equal(1, _driver.UsedIndex);

        device.Limiter.Patch(new RateLimiterSettings(new TokenBucketSettings(0, 0), null));
        device.RetryThrottled();

        Assert.Equal(4, _driver.UsedIndex);
        Assert.False(device.IsThrottled(0));
    }

    [Fact]
    public void TheChargeIsTheDataLengthFromTheSegmentsNotTheHeader()
    {
        // A flush carries no data: with 1 byte of bandwidth it still goes through (0 bytes charged) ...
        var device = Start(new RateLimiterSettings(new TokenBucketSettings(1, 60_000), null));
        var header = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)BlockRequestType.Flush);
        _driver.Post(_driver.Readable(header), _driver.Writable(1));
        device.Notify(0);
        Assert.Equal(1, _driver.UsedIndex);

        // ... but a "flush" header with a 4 KiB buffer behind it pays for the buffer, so a guest cannot move
        // data for free by lying in a header it may rewrite later.
        _driver.Post(_driver.Readable(header), _driver.Writable(4096), _driver.Writable(1));
        _driver.Post(_driver.Readable(header), _driver.Writable(4096), _driver.Writable(1));
        device.Notify(0);
        Assert.Equal(2, _driver.UsedIndex);
        Assert.True(device.IsThrottled(0));
    }

    [Fact]
    public void AResetForgetsTheHeldRequest()
    {
        var device = Start(new RateLimiterSettings(new TokenBucketSettings(4096, 60_000), null));
        PostRead(4096);
        PostRead(4096);
        device.Notify(0);
        Assert.True(device.IsThrottled(0));

        device.Reset();

        Assert.False(device.IsThrottled(0));
        device.RetryThrottled();
        Assert.Equal(1, _driver.UsedIndex);
    }
}
