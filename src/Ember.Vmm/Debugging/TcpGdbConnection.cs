using System.Net.Sockets;
using System.Runtime.InteropServices;
using Ember.Sys;

namespace Ember.Vmm.Debugging;

internal sealed class TcpGdbConnection(Socket socket) : IGdbConnection
{
    public SafeHandle Handle => socket.SafeHandle;

    public SocketIoResult Read(Span<byte> buffer)
    {
        int count = socket.Receive(buffer, SocketFlags.None, out SocketError error);
        return Result(count, error);
    }

    public SocketIoResult Write(ReadOnlySpan<byte> data)
    {
        int count = socket.Send(data, SocketFlags.None, out SocketError error);
        return Result(count, error);
    }

    private static SocketIoResult Result(int count, SocketError error) => error switch
    {
        SocketError.Success when count > 0 => SocketIoResult.Transferred(count),
        SocketError.WouldBlock or SocketError.Interrupted => SocketIoResult.WouldBlock,
        _ => SocketIoResult.Closed,
    };

    public void Dispose() => socket.Dispose();
}
