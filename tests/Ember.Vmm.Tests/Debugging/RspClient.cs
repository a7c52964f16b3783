using System.Net.Sockets;
using System.Text;

namespace Ember.Vmm.Tests.Debugging;

/// <summary>A bare GDB remote protocol client for the stub's edge cases: raw bytes out, acknowledgements and packets back.</summary>
internal sealed class RspClient : IDisposable
{
    private readonly Socket _socket;
    private readonly List<byte> _pending = [];

    public RspClient(int port)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 60_000 };
        _socket.Connect(System.Net.IPAddress.Loopback, port);
    }

    public static string Frame(string payload)
    {
        byte sum = 0;
        foreach (char c in payload)
            sum += (byte)c;
        return $"${payload}#{sum:x2}";
    }

    public void SendRaw(string bytes) => _socket.Send(Encoding.Latin1.GetBytes(bytes));

    public void SendPacket(string payload) => SendRaw(Frame(payload));

    /// <summary>The next byte the stub sends ('+', '-', or '$' opening a packet).</summary>
    public char ReadByte()
    {
        if (_pending.Count == 0)
            Fill();
        char c = (char)_pending[0];
        _pending.RemoveAt(0);
        return c;
    }

    /// <summary>The next packet's payload (skipping acknowledgements), with its checksum checked.</summary>
    public string ReadPacket()
    {
        char c;
        while ((c = ReadByte()) != '$')
            Assert.True(c is '+' or '-', $"unexpected byte 0x{(int)c:x2} between packets");
        var payload = new StringBuilder();
        while ((c = ReadByte()) != '#')
            payload.Append(c);
        string checksum = $"{ReadByte()}{ReadByte()}";
        Assert.Equal(Frame(payload.ToString())[^2..], checksum);
        return payload.ToString();
    }

    /// <summary>Sends a packet and returns the reply, in acknowledged mode (expects '+' first, then acknowledges the reply).</summary>
    public string Exchange(string payload, bool acknowledged = true)
    {
        SendPacket(payload);
        if (acknowledged)
            Assert.Equal('+', ReadByte());
        string reply = ReadPacket();
        if (acknowledged)
            SendRaw("+");
        return reply;
    }

    /// <summary>True once the stub has closed (or reset) this connection, with nothing sent first.</summary>
    public bool IsClosedByPeer()
    {
        try
        {
            return _socket.Receive(new byte[1]) == 0;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
    }

    private void Fill()
    {
        var buffer = new byte[4096];
        int count = _socket.Receive(buffer);
        Assert.True(count > 0, "the stub closed the connection");
        _pending.AddRange(buffer.AsSpan(0, count).ToArray());
    }

    public void Dispose() => _socket.Dispose();
}
