using System.Text.Json.Serialization;

namespace Ember.Api.Dto;

/// <summary>Firecracker's NetworkInterface (PUT before start, and an entry of network-interfaces).</summary>
public sealed class NetworkInterface
{
    [JsonRequired]
    public string IfaceId { get; set; } = "";

    /// <summary>The host TAP the interface is attached to; it must already exist.</summary>
    [JsonRequired]
    public string HostDevName { get; set; } = "";

    public string? GuestMac { get; set; }

    /// <summary>VIRTIO_NET_F_MTU; Ember does not offer it yet, so a value is refused.</summary>
    public long? Mtu { get; set; }

    public RateLimiter? RxRateLimiter { get; set; }

    public RateLimiter? TxRateLimiter { get; set; }
}
