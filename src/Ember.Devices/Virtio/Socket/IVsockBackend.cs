namespace Ember.Devices.Virtio.Socket;

/// <summary>
/// The host side of a vsock device: where host programs connect from and where guest connections go. The device
/// logic sees only this and <see cref="IVsockHostStream"/>, so it is tested without sockets; the Firecracker-style
/// Unix socket scheme is <see cref="UnixVsockBackend"/>. Disposing stops host connections and releases the listener.
/// </summary>
public interface IVsockBackend : IDisposable
{
    /// <summary>Starts reporting host connections and stream readiness to <paramref name="events"/> (called once, by the device).</summary>
    void Attach(IVsockHostEvents events);

    /// <summary>
    /// Opens a stream to whatever serves host port <paramref name="port"/> for a guest's connection request, without
    /// blocking; null when nothing does (the device then resets the guest's request). The stream is not started.
    /// </summary>
    IVsockHostStream? ConnectToHost(uint port);
}
