using System.Text.Json.Serialization;

namespace Ember.Api.Dto;

/// <summary>Firecracker's FirecrackerVersion (GET /version).</summary>
public sealed class FirecrackerVersion
{
    [JsonPropertyName("firecracker_version")]
    public string Version { get; set; } = "";
}
