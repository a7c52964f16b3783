using Ember.Devices.RateLimiting;
using Ember.Sys;

namespace Ember.Vmm.Control;

/// <summary>A virtio-blk drive (Firecracker's Drive): its id is also the serial the guest sees.</summary>
public sealed record DriveResource
{
    public required string DriveId { get; init; }

    public required string PathOnHost { get; init; }

    public bool IsRootDevice { get; init; }

    public bool IsReadOnly { get; init; }

    public string? Partuuid { get; init; }

    /// <summary>Unsafe or Writeback.</summary>
    public string CacheType { get; init; } = "Unsafe";

    /// <summary>Sync or Async.</summary>
    public string IoEngine { get; init; } = "Sync";

    /// <summary>Firecracker's rate_limiter on the drive's requests; null limits nothing.</summary>
    public RateLimiterSettings? RateLimiter { get; init; }

    public void Validate()
    {
        if (DriveId.Length is 0 or > 20 || DriveId.Any(c => !(char.IsAsciiLetterOrDigit(c) || c == '_')))
            throw new ResourceConfigException($"drive_id: '{DriveId}' must be 1 to 20 letters, digits or underscores");
        if (CacheType is not ("Unsafe" or "Writeback"))
            throw new ResourceConfigException($"cache_type: '{CacheType}' is not one of Unsafe, Writeback");
        if (IoEngine is not ("Sync" or "Async"))
            throw new ResourceConfigException($"io_engine: '{IoEngine}' is not one of Sync, Async");
        if (IoEngine == "Async")
            throw new ResourceConfigException("io_engine: Ember serves disks synchronously; Async (io_uring) is not supported yet");
        ResourceFiles.RequireReadable("path_on_host", "drive image", PathOnHost);
        if (HostFile.Inspect(PathOnHost).Size < 512)
            throw new ResourceConfigException($"path_on_host: the drive image {PathOnHost} is smaller than one 512-byte sector");
    }
}
