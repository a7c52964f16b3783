using Ember.Devices.RateLimiting;
using Ember.Devices.Tests.Fakes;
using Xunit;

namespace Ember.Devices.Tests.RateLimiting;

/// <summary>A request costs one op and its bytes, both or neither; PATCH replaces the buckets given and keeps the rest.</summary>
public sealed class RateLimiterTests
{
    private readonly ManualTimeProvider _clock = new();

    [Fact]
    public void WithoutBucketsEverythingGoesThrough()
    {
        var limiter = new RateLimiter(time: _clock);

        for (int i = 0; i < 10_000; i++)
            Assert.True(limiter.TryConsume(1 << 20, out _));
        Assert.Equal(0, limiter.ThrottledCount);
    }

    [Fact]
    public void ARefusedRequestTakesNothingFromEitherBucket()
    {
        var limiter = new RateLimiter(new RateLimiterSettings(new TokenBucketSettings(1000, 1000), new TokenBucketSettings(2, 1000)), _clock);

        Assert.True(limiter.TryConsume(900, out _));
        // 200 bytes do not fit: the op must not be spent.
        Assert.False(limiter.TryConsume(200, out var wait));
        Assert.Equal(TimeSpan.FromMilliseconds(100), wait);
        Assert.Equal(1, limiter.ThrottledCount);
        // The second op is still there for a request that fits.
        Assert.True(limiter.TryConsume(100, out _));
        // Now the ops bucket is empty: 1 op per 500 ms.
        Assert.False(limiter.TryConsume(0, out wait));
        Assert.Equal(TimeSpan.FromMilliseconds(500), wait);
    }

    [Fact]
    public void TheRetryTimeIsTheLongerOfTheTwoWaits()
    {
        var limiter = new RateLimiter(new RateLimiterSettings(new TokenBucketSettings(1000, 1000), new TokenBucketSettings(1, 100)), _clock);
        Assert.True(limiter.TryConsume(1000, out _));

        Assert.False(limiter.TryConsume(500, out var wait));

        Assert.Equal(TimeSpan.FromMilliseconds(500), wait);
    }

    [Fact]
    public void PatchReplacesTheBucketsGivenAndKeepsTheOthers()
    {
        var ops = new TokenBucketSettings(1, 1000);
        var limiter = new RateLimiter(new RateLimiterSettings(new TokenBucketSettings(100, 1000), ops), _clock);
        Assert.True(limiter.TryConsume(100, out _));

        limiter.Patch(new RateLimiterSettings(new TokenBucketSettings(10_000, 1000), null));

        Assert.Equal(ops, limiter.Settings.Ops);
        Assert.Equal(10_000UL, limiter.Settings.Bandwidth!.Size);
        // The ops bucket kept its state (empty); the new bandwidth bucket starts full.
        Assert.False(limiter.TryConsume(5000, out _));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(limiter.TryConsume(5000, out _));

        // A size of 0 lifts the limit.
        limiter.Patch(new RateLimiterSettings(null, new TokenBucketSettings(0, 0)));
        for (int i = 0; i < 100; i++)
            Assert.True(limiter.TryConsume(1, out _));
    }
}
