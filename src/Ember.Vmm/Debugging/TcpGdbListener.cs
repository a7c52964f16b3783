using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Ember.Vmm.Debugging;

/// <summary>The stub on a TCP port: a non-blocking listening socket; accepted connections have Nagle off (small request/reply packets).</summary>
internal sealed class TcpGdbListener : IGdbListener
{
    private readonly Socket _socket;

    private TcpGdbListener(Socket socket, GdbEndpoint endpoint)
    {
        _socket = socket;
        Endpoint = endpoint;
    }

    /// <summary>Binds and listens; throws <see cref="SocketException"/> when the address cannot be had.</summary>
    public static TcpGdbListener Bind(IPAddress host, int port)
    {
        var socket = new Socket(host.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // A stub restarted right after a session must not wait out TIME_WAIT on its own port.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(new IPEndPoint(host, port));
            socket.Listen(4);
            socket.Blocking = false;
            var bound = (IPEndPoint)socket.LocalEndPoint!;
            return new TcpGdbListener(socket, GdbEndpoint.Tcp(bound.Address, bound.Port));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public SafeHandle Handle => _socket.SafeHandle;

    public GdbEndpoint Endpoint { get; }

    public IGdbConnection? Accept()
    {
        try
        {
            var connection = _socket.Accept();
            connection.Blocking = false;
            connection.NoDelay = true;
            return new TcpGdbConnection(connection);
        }
        catch (SocketException)
        {
            // Nothing waiting after all (EAGAIN) or that peer gave up already.
            return null;
        }
    }

    public void Dispose() => _socket.Dispose();
}
