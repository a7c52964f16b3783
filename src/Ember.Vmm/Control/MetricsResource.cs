namespace Ember.Vmm.Control;

/// <summary>Where Ember writes its metrics as JSON lines (Firecracker's Metrics).</summary>
public sealed record MetricsResource(string MetricsPath)
{
    public void Validate() => ResourceFiles.RequireWritable("metrics_path", "metrics file", MetricsPath);
}
