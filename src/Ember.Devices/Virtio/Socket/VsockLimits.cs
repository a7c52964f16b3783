namespace Ember.Devices.Virtio.Socket;

/// <summary>
/// The bounds <see cref="VirtioVsock"/> puts on what a guest (or a host program) can make it hold. Each one caps
/// host memory or work that the other side controls; together they bound a device at roughly
/// <see cref="MaxConnections"/> × <see cref="BufferAllocation"/> bytes of buffered data.
/// </summary>
public static class VsockLimits
{
    /// <summary>
    /// The largest payload one packet may carry, either way (Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE is the same).
    /// A guest packet whose len says more is dropped; it never makes the device read more than this.
    /// </summary>
    public const int MaxPacketPayload = 64 * 1024;

    /// <summary>
    /// Connections at once, counting host programs that have connected but not yet sent their CONNECT line.
    /// Beyond it a guest's request is reset and a host program's connection is closed.
    /// </summary>
    public const int MaxConnections = 1024;

    /// <summary>
    /// The buf_alloc the device advertises for every connection (virtio 1.2 §5.10.6.3): the most guest bytes it
    /// buffers for a host socket that is not reading. A guest that sends beyond the credit this gives is reset.
    /// </summary>
    public const uint BufferAllocation = 64 * 1024;

    /// <summary>
    /// Forwarded bytes after which the device tells the guest of its new fwd_cnt unasked (a CREDIT_UPDATE), unless a
    /// packet going that way carries it first. At most the whole allocation, so a guest that used all its credit
    /// always hears of it again.
    /// </summary>
    public const uint CreditUpdateThreshold = BufferAllocation / 2;

    /// <summary>Resets owed to the guest for packets that matched no connection; more are dropped (the guest times out instead).</summary>
    public const int MaxQueuedResets = 1024;

    /// <summary>The first host port given to a host-initiated connection (as Firecracker's); later ones count up from it.</summary>
    public const uint FirstEphemeralPort = 1u << 30;
}
