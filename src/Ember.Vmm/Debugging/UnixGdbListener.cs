using System.Runtime.InteropServices;
using Ember.Sys;

namespace Ember.Vmm.Debugging;

/// <summary>The stub on a Unix socket path, with <see cref="UnixListener"/>'s rules (only a stale socket is replaced; the file goes on dispose).</summary>
internal sealed class UnixGdbListener(UnixListener listener, GdbEndpoint endpoint) : IGdbListener
{
    public SafeHandle Handle => listener.Handle;

    public GdbEndpoint Endpoint => endpoint;

    public IGdbConnection? Accept() => listener.Accept() is { } stream ? new UnixGdbConnection(stream) : null;

    public void Dispose() => listener.Dispose();
}
