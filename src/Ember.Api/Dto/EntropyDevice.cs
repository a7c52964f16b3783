namespace Ember.Api.Dto;

/// <summary>Firecracker's EntropyDevice.</summary>
public sealed class EntropyDevice
{
    public RateLimiter? RateLimiter { get; set; }
}
