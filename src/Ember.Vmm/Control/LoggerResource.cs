namespace Ember.Vmm.Control;

/// <summary>Where Ember's log goes and how much of it (Firecracker's Logger).</summary>
public sealed record LoggerResource
{
    public string? LogPath { get; init; }

    /// <summary>Error, Warning, Info, Debug, Trace or Off (any case).</summary>
    public string Level { get; init; } = "Info";

    public bool ShowLevel { get; init; }

    public bool ShowLogOrigin { get; init; }

    public string? Module { get; init; }

    public static readonly string[] Levels = ["Error", "Warning", "Info", "Debug", "Trace", "Off"];

    public void Validate()
    {
        if (!Levels.Contains(Level, StringComparer.OrdinalIgnoreCase))
            throw new ResourceConfigException($"level: '{Level}' is not one of {string.Join(", ", Levels)}");
        if (LogPath is not null)
            ResourceFiles.RequireWritable("log_path", "log file", LogPath);
    }
}
