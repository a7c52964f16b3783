using Ember.Devices.RateLimiting;

namespace Ember.Vmm.Machine;

/// <summary>A virtio-blk disk backed by a host file; <paramref name="ReadOnly"/> disks refuse guest writes.</summary>
/// <param name="Id">The drive's name (its virtio-blk serial, at most 20 printable ASCII characters).</param>
/// <param name="RateLimiter">Firecracker's rate limiter on the disk's requests; null limits nothing.</param>
public sealed record DriveConfig(string Id, string Path, bool ReadOnly = false, RateLimiterSettings? RateLimiter = null);
