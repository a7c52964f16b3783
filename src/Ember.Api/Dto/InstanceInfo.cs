namespace Ember.Api.Dto;

/// <summary>Firecracker's InstanceInfo (GET /).</summary>
public sealed class InstanceInfo
{
    public string AppName { get; set; } = "";

    public string Id { get; set; } = "";

    /// <summary>"Not started", "Running" or "Paused".</summary>
    public string State { get; set; } = "";

    public string VmmVersion { get; set; } = "";
}
