namespace Ember.Api.Dto;

/// <summary>Firecracker's RateLimiter: a bandwidth bucket (bytes) and an ops bucket (operations).</summary>
public sealed class RateLimiter
{
    public TokenBucket? Bandwidth { get; set; }

    public TokenBucket? Ops { get; set; }
}
