using System.Text.Json.Serialization;

namespace Ember.Api.Dto;

/// <summary>Firecracker's PartialNetworkInterface (PATCH after start): new rate limiters for a running interface.</summary>
public sealed class PartialNetworkInterface
{
    [JsonRequired]
    public string IfaceId { get; set; } = "";

    public RateLimiter? RxRateLimiter { get; set; }

    public RateLimiter? TxRateLimiter { get; set; }
}
