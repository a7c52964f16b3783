using System.Text.Json.Serialization;

namespace Ember.Api.Dto;

/// <summary>Firecracker's Drive.</summary>
public sealed class Drive
{
    [JsonRequired]
    public string DriveId { get; set; } = "";

    [JsonRequired]
    public bool IsRootDevice { get; set; }

    public string? Partuuid { get; set; }

    public string? CacheType { get; set; }

    public bool? IsReadOnly { get; set; }

    public string? PathOnHost { get; set; }

    public RateLimiter? RateLimiter { get; set; }

    public string? IoEngine { get; set; }

    /// <summary>vhost-user-block; Ember has no vhost-user backends.</summary>
    public string? Socket { get; set; }
}
