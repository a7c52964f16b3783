namespace Ember.Api.Dto;

/// <summary>Ember's extension GET /vm/state: the lifecycle state, including Stopped.</summary>
public sealed class VmStateReport
{
    public string State { get; set; } = "";
}
