namespace Ember.Devices.Virtio.Socket;

/// <summary>Where one vsock connection is in its life (virtio 1.2 §5.10.6.4, Firecracker's docs/vsock.md).</summary>
public enum VsockConnectionState
{
    /// <summary>A host program connected to uds_path and has not yet sent a whole "CONNECT &lt;port&gt;\n".</summary>
    AwaitingConnectLine,

    /// <summary>Host-initiated: the device sent (or will send) REQUEST to the guest and waits for RESPONSE.</summary>
    AwaitingResponse,

    /// <summary>Both ends accepted: payload flows under credit, until shutdowns or a reset.</summary>
    Established,
}
