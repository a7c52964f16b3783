namespace Ember.Api.Dto;

/// <summary>Firecracker's Logger.</summary>
public sealed class Logger
{
    public string? Level { get; set; }

    public string? LogPath { get; set; }

    public bool? ShowLevel { get; set; }

    public bool? ShowLogOrigin { get; set; }

    public string? Module { get; set; }
}
