using Ember.Sys;

namespace Ember.Devices.Virtio.Socket;

/// <summary>
/// Firecracker's host side of vsock over Unix sockets (docs/vsock.md): one listener at uds_path, where a host program
/// connects and writes "CONNECT &lt;port&gt;\n" to reach a guest port, and, for a guest connecting to host port P, a
/// connection to the listener a host program keeps at "&lt;uds_path&gt;_P" (none there: the guest is reset). Every
/// socket is non-blocking and served by the device I/O <see cref="EventLoop"/>; nothing blocks a vCPU.
/// </summary>
/// <remarks>
/// Threat model: any local program allowed to open uds_path can connect; the device caps how many are held and how
/// much each may send before it names a port. A guest picks the port P, and so which "&lt;uds_path&gt;_P" is tried,
/// but never any other path: the prefix is the configured uds_path, and a path too long for a socket is refused.
/// Accepting takes at most <see cref="AcceptsPerWakeup"/> connections per wakeup, so a flood of connections shares the
/// loop with everything else.
/// </remarks>
public sealed class UnixVsockBackend : IVsockBackend
{
    public const int AcceptsPerWakeup = 16;

    private readonly VsockUnixPaths _paths;
    private readonly EventLoop _loop;
    private readonly UnixListener _listener;
    private EventSubscription? _subscription;
    private IVsockHostEvents? _events;

    /// <summary>
    /// Listens at <paramref name="paths"/>' uds_path now. Throws <see cref="SystemCallException"/> with a one-line
    /// message naming the path when it is taken or its directory is missing.
    /// </summary>
    public UnixVsockBackend(VsockUnixPaths paths, EventLoop loop)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(loop);
        _paths = paths;
        _loop = loop;
        _listener = UnixListener.Bind(paths.HostListenerPath);
    }

    public string ListenerPath => _listener.Path;

    public void Attach(IVsockHostEvents events)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (_events is not null)
            throw new InvalidOperationException("the vsock backend already serves a device");
        _events = events;
        _subscription = _loop.Subscribe(_listener.Handle, EpollEvents.In, _ => AcceptWaiting());
    }

    public IVsockHostStream? ConnectToHost(uint port)
    {
        if (_events is null || !_paths.TryGetGuestConnectionPath(port, out string path))
            return null;
        try
        {
            return UnixStream.TryConnect(path, out var stream, out _) ? new UnixVsockHostStream(stream!, _loop, _events) : null;
        }
        catch (SystemCallException)
        {
            // socket() itself failed (out of descriptors): to the guest, nobody is there.
            return null;
        }
    }

    private void AcceptWaiting()
    {
        for (int i = 0; i < AcceptsPerWakeup; i++)
        {
            var stream = _listener.Accept();
            if (stream is null)
                return;
            _events!.HostConnected(new UnixVsockHostStream(stream, _loop, _events));
        }
    }

    public void Dispose()
    {
        _subscription?.Dispose();
        _listener.Dispose();
    }
}
