namespace Ember.Api.Dto;

/// <summary>Firecracker's SerialDevice.</summary>
public sealed class SerialDevice
{
    public string? SerialOutPath { get; set; }

    public TokenBucket? RateLimiter { get; set; }
}
