using Ember.Devices.RateLimiting;

namespace Ember.Vmm.Control;

/// <summary>
/// Where the guest's serial console goes (Firecracker's SerialDevice); without a path, standard output. With a
/// <paramref name="RateLimiter"/> (one bucket of bytes), output beyond it is dropped and counted.
/// </summary>
public sealed record SerialResource(string? SerialOutPath, TokenBucketSettings? RateLimiter = null)
{
    public void Validate()
    {
        if (SerialOutPath is not null)
            ResourceFiles.RequireWritable("serial_out_path", "serial output file", SerialOutPath);
    }
}
