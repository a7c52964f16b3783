namespace Ember.Vmm.Machine;

/// <summary>
/// A virtio-vsock device with Firecracker's host side: the guest's context ID and the Unix socket path host programs
/// connect to (guest connections to host port P go to "&lt;UdsPath&gt;_P").
/// </summary>
/// <param name="GuestCid">The guest's CID, 3 to 4294967294 (0-2 and 0xFFFFFFFF are reserved).</param>
public sealed record VsockConfig(ulong GuestCid, string UdsPath);
