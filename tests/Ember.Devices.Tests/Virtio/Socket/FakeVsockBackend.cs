using Ember.Devices.Virtio.Socket;

namespace Ember.Devices.Tests.Virtio.Socket;

/// <summary>A vsock backend in memory: host programs connect when the test says so, and the guest reaches the ports listed in <see cref="Listening"/>.</summary>
public sealed class FakeVsockBackend : IVsockBackend
{
    public IVsockHostEvents? Events { get; private set; }

    public HashSet<uint> Listening { get; } = [];

    /// <summary>The streams opened for guest connections, by host port.</summary>
    public Dictionary<uint, FakeHostStream> Connected { get; } = [];

    public bool Disposed { get; private set; }

    public void Attach(IVsockHostEvents events) => Events = events;

    public IVsockHostStream? ConnectToHost(uint port)
    {
        if (!Listening.Contains(port))
            return null;
        var stream = new FakeHostStream(Events);
        Connected[port] = stream;
        return stream;
    }

    /// <summary>A host program connects to uds_path.</summary>
    public FakeHostStream HostConnects()
    {
        var stream = new FakeHostStream(Events);
        Events!.HostConnected(stream);
        return stream;
    }

    public void Dispose() => Disposed = true;
}
