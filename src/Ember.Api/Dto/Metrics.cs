using System.Text.Json.Serialization;

namespace Ember.Api.Dto;

/// <summary>Firecracker's Metrics.</summary>
public sealed class Metrics
{
    [JsonRequired]
    public string MetricsPath { get; set; } = "";

    public bool? EmitId { get; set; }

    public Dictionary<string, string>? Properties { get; set; }
}
