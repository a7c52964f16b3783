namespace Ember.Devices.Virtio.Socket;

/// <summary>A vsock packet's socket type (virtio 1.2 §5.10.6, the <c>type</c> field).</summary>
public enum VsockSocketType : ushort
{
    Stream = 1,

    /// <summary>Only with VIRTIO_VSOCK_F_SEQPACKET negotiated (§5.10.3); Firecracker-compatible Ember offers streams only.</summary>
    SeqPacket = 2,
}
