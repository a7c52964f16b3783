using Ember.Sys;

namespace Ember.Devices.Virtio.Net;

/// <summary>
/// Where a virtio-net device's frames come from and go to (a TAP). Every frame starts with the 12-byte virtio-net
/// header (<see cref="NetHeaderLayout"/>). Nothing blocks: the device asks for the readiness it wants with
/// <see cref="Watch"/>, and the backend's owner calls <see cref="VirtioNet.OnBackendReady"/> when it comes. Calls arrive
/// under the device's lock, from a vCPU or the device I/O thread; none may throw on what the guest sent.
/// <para>
/// Seam for a rate limiter: wrap the backend. Out of tokens, the wrapper answers <see cref="NetSendResult.WouldBlock"/>
/// (the device keeps the frame), or <see cref="ReceiveFrame"/> 0 with the device's Readable interest taken off the fd,
/// and reports the readiness again when its bucket refills; the device needs no change for it.
/// </para>
/// </summary>
public interface INetBackend
{
    /// <summary>
    /// Copies the next waiting frame, header first, into <paramref name="buffer"/> (<see cref="NetHeaderLayout.MaxFrameLength"/>
    /// bytes) and returns its length; 0 when none is waiting or the backend failed.
    /// </summary>
    int ReceiveFrame(Span<byte> buffer);

    /// <summary>Hands over one frame, header first.</summary>
    NetSendResult SendFrame(ReadOnlySpan<byte> frame);

    /// <summary>
    /// Which unfinished frames (partial checksums, TSO) the backend may hand the device, as the driver accepted them.
    /// False when the backend refused; it then hands over only finished frames (no offloads), which every driver takes.
    /// </summary>
    bool SetOffload(TapOffload offload);

    /// <summary>The readiness the device wants to hear about from now on (None: nothing).</summary>
    void Watch(NetReadiness wanted);
}
