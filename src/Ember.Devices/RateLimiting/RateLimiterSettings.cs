namespace Ember.Devices.RateLimiting;

/// <summary>Firecracker's RateLimiter: a bucket of bytes and a bucket of operations, either of them absent (unlimited).</summary>
public sealed record RateLimiterSettings(TokenBucketSettings? Bandwidth, TokenBucketSettings? Ops)
{
    /// <summary>True when neither bucket limits anything.</summary>
    public bool IsUnlimited => (Bandwidth is null || Bandwidth.IsUnlimited) && (Ops is null || Ops.IsUnlimited);
}
