using System.Text.Json.Serialization;

namespace Ember.Api.Dto;

/// <summary>Firecracker's InstanceActionInfo: FlushMetrics, InstanceStart, SendCtrlAltDel, and Ember's SendNmi.</summary>
public sealed class InstanceActionInfo
{
    [JsonRequired]
    public string ActionType { get; set; } = "";
}
