using System.Text.Json.Serialization;

namespace Ember.Api.Dto;

/// <summary>Firecracker's Vsock (PUT /vsock before start, and the vsock section of a configuration file).</summary>
public sealed class Vsock
{
    [JsonRequired]
    public long GuestCid { get; set; }

    [JsonRequired]
    public string UdsPath { get; set; } = "";

    /// <summary>Deprecated in Firecracker; accepted and shown again.</summary>
    public string? VsockId { get; set; }
}
