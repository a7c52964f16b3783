using System.Text.Json.Serialization;

namespace Ember.Api.Dto;

/// <summary>Firecracker's PartialDrive (PATCH after start).</summary>
public sealed class PartialDrive
{
    [JsonRequired]
    public string DriveId { get; set; } = "";

    public string? PathOnHost { get; set; }

    public RateLimiter? RateLimiter { get; set; }
}
