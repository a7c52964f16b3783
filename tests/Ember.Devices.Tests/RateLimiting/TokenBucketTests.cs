using Ember.Devices.RateLimiting;
using Ember.Devices.Tests.Fakes;
using Xunit;

namespace Ember.Devices.Tests.RateLimiting;

/// <summary>Firecracker's token bucket: starts full, burst first, refills at size per refill time, oversized requests go into debt.</summary>
public sealed class TokenBucketTests
{
    private readonly ManualTimeProvider _clock = new();

    [Fact]
    public void AFullBucketPaysUpToItsSizeAndThenRefillsAtSizePerRefillTime()
    {
        var bucket = new TokenBucket(new TokenBucketSettings(Size: 1000, RefillTimeMs: 100), _clock);

        Assert.True(bucket.CanTake(1000));
        bucket.Take(1000);
        Assert.False(bucket.CanTake(1));
        Assert.Equal(TimeSpan.FromMilliseconds(10), bucket.TimeUntil(100));

        _clock.Advance(TimeSpan.FromMilliseconds(10));
        Assert.True(bucket.CanTake(100));
        Assert.False(bucket.CanTake(101));

        // Refilling stops at the size.
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(1000, bucket.Budget);
    }

    [Fact]
    public void TheOneTimeBurstIsSpentFirstAndNeverComesBack()
    {
        var bucket = new TokenBucket(new TokenBucketSettings(Size: 100, RefillTimeMs: 1000, OneTimeBurst: 500), _clock);

        Assert.True(bucket.CanTake(600));
        bucket.Take(550);
        Assert.Equal(0UL, bucket.BurstLeft);
        Assert.Equal(50, bucket.Budget);

        _clock.Advance(TimeSpan.FromSeconds(100));
        Assert.Equal(0UL, bucket.BurstLeft);
        Assert.True(bucket.CanTake(100));
        bucket.Take(100);
        Assert.False(bucket.CanTake(1));
    }

    [Fact]
    public void ARequestLargerThanTheBucketGoesThroughOnAFullBucketAndLeavesADebt()
    {
        var bucket = new TokenBucket(new TokenBucketSettings(Size: 100, RefillTimeMs: 100), _clock);

        Assert.True(bucket.CanTake(300));
        bucket.Take(300);
        Assert.Equal(-200, bucket.Budget);
        // The debt of 200 and then 50 more tokens: 250 ms at 1 token per ms.
        Assert.Equal(TimeSpan.FromMilliseconds(250), bucket.TimeUntil(50));

        // Not full yet after the debt is repaid: an oversized request waits for a full bucket.
        _clock.Advance(TimeSpan.FromMilliseconds(250));
        Assert.False(bucket.CanTake(300));
        _clock.Advance(TimeSpan.FromMilliseconds(50));
        Assert.True(bucket.CanTake(300));
    }

    [Theory]
    [InlineData(0UL, 100UL)]
    [InlineData(100UL, 0UL)]
    public void ASizeOrRefillTimeOfZeroIsNoBucket(ulong size, ulong refill)
    {
        var settings = new TokenBucketSettings(size, refill);

        Assert.True(settings.IsUnlimited);
        Assert.Throws<ArgumentException>(() => new TokenBucket(settings, _clock));
    }
}
