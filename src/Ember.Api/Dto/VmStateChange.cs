using System.Text.Json.Serialization;

namespace Ember.Api.Dto;

/// <summary>Firecracker's Vm: the state asked for, Paused or Resumed.</summary>
public sealed class VmStateChange
{
    [JsonRequired]
    public string State { get; set; } = "";
}
