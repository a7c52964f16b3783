using Ember.Devices.Virtio.Socket;
using Ember.Sys;

namespace Ember.Vmm.Control;

/// <summary>
/// The virtio-vsock device (Firecracker's Vsock): the guest's context ID and the Unix socket host programs connect
/// to. Validate checks what can be checked when it is set, without touching the path: the CID's range, a path a
/// socket can have, and that nothing already listens there. The listener itself is bound at InstanceStart, which
/// reports a path taken in between.
/// </summary>
public sealed record VsockResource
{
    /// <summary>The guest's CID as given (Firecracker's guest_cid, an integer with minimum 3).</summary>
    public required long GuestCid { get; init; }

    public required string UdsPath { get; init; }

    /// <summary>Firecracker's deprecated vsock_id: kept and shown again, used for nothing.</summary>
    public string? VsockId { get; init; }

    public void Validate()
    {
        if (GuestCid < (long)VsockCid.FirstGuest || (ulong)GuestCid >= VsockCid.Any)
            throw new ResourceConfigException($"guest_cid: {GuestCid} is outside {VsockCid.FirstGuest} to {VsockCid.Any - 1} (0 to 2 are reserved; 2 is the host)");
        if (string.IsNullOrEmpty(UdsPath))
            throw new ResourceConfigException("uds_path: the path is empty");
        if (UnixSocketPath.Validate(UdsPath) is { } pathProblem)
            throw new ResourceConfigException($"uds_path: {pathProblem}");
        if (UnixListener.FindBindProblem(UdsPath) is { } bindProblem)
            throw new ResourceConfigException($"uds_path: {bindProblem}");
    }
}
