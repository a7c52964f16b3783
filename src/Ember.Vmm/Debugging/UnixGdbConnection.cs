using System.Runtime.InteropServices;
using Ember.Sys;

namespace Ember.Vmm.Debugging;

internal sealed class UnixGdbConnection(UnixStream stream) : IGdbConnection
{
    public SafeHandle Handle => stream.Handle;

    public SocketIoResult Read(Span<byte> buffer) => stream.Read(buffer);

    public SocketIoResult Write(ReadOnlySpan<byte> data) => stream.Write(data);

    public void Dispose() => stream.Dispose();
}
