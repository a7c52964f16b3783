namespace Ember.Vmm.Machine;

/// <summary>A virtio-blk disk backed by a host file; <paramref name="ReadOnly"/> disks refuse guest writes.</summary>
/// <param name="Id">The drive's name (its virtio-blk serial, at most 20 printable ASCII characters).</param>
public sealed record DriveConfig(string Id, string Path, bool ReadOnly = false);
