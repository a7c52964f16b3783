using System.Net.Sockets;
using System.Text;

namespace Ember.Vmm.Tests.Linux;

/// <summary>
/// The host programs on the far side of the Linux guest's AF_VSOCK sockets, on real Unix sockets laid out as
/// Firecracker does: a listener at "&lt;uds_path&gt;_<see cref="HostPort"/>" that answers the guest's line with
/// "host-heard &lt;line&gt;", and a client that connects to uds_path, says "CONNECT <see cref="GuestPort"/>", and
/// once the guest's socat accepts sends <see cref="HostMessage"/> and keeps the guest's answer.
/// </summary>
internal sealed class LinuxBootVsockHost : IDisposable
{
    public const uint HostPort = 5000;
    public const uint GuestPort = 5001;
    public const string HostMessage = "ember-host-to-guest";
    public const string HostReplyPrefix = "host-heard ";

    /// <summary>Only a safety net for each wait: generous, the nested VM is slow.</summary>
    private static readonly TimeSpan SafetyNet = TimeSpan.FromMinutes(3);
    private const int MaxLine = 256;

    private readonly string _udsPath;
    private readonly Socket _listener;
    private readonly Thread _echo;
    private Thread? _client;
    private volatile bool _disposed;
    private volatile bool _stopped;

    public LinuxBootVsockHost(string udsPath)
    {
        _udsPath = udsPath;
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint($"{udsPath}_{HostPort}"));
        _listener.Listen();
        _echo = new Thread(Answer) { IsBackground = true, Name = "vsock host listener" };
        _echo.Start();
    }

    /// <summary>The line the guest sent to host port <see cref="HostPort"/>, or null.</summary>
    public string? GuestSaid { get; private set; }

    /// <summary>What the guest's listener answered <see cref="HostMessage"/> with, or null.</summary>
    public string? GuestAnswered { get; private set; }

    /// <summary>How many CONNECTs the client made before the guest accepted one (the guest may not listen yet).</summary>
    public int ConnectAttempts { get; private set; }

    /// <summary>What went wrong on the host side, for the failure message.</summary>
    public string Problems => _problems.ToString();

    private readonly StringBuilder _problems = new();

    private void Problem(string text)
    {
        lock (_problems)
            _problems.Append(text).Append("; ");
    }

    private void Answer()
    {
        try
        {
            // No deadline of its own: the guest connects once Linux has booted, which the boot's watchdog bounds.
            while (!_listener.Poll(TimeSpan.FromSeconds(1), SelectMode.SelectRead))
            {
                if (_disposed || _stopped)
                    return;
            }
            using var connection = _listener.Accept();
            connection.ReceiveTimeout = (int)SafetyNet.TotalMilliseconds;
            string line = ReadLine(connection) ?? throw new EndOfStreamException("the guest's stream ended before a line");
            GuestSaid = line;
            connection.Send(Encoding.ASCII.GetBytes(HostReplyPrefix + line + "\n"));
            connection.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
        {
            if (!_disposed)
                Problem($"host listener: {e.Message}");
        }
    }

    /// <summary>Starts the client (once): the guest has said it is about to listen on <see cref="GuestPort"/>.</summary>
    public void ConnectToGuestSoon()
    {
        if (_client is not null)
            return;
        _client = new Thread(ConnectToGuest) { IsBackground = true, Name = "vsock host client" };
        _client.Start();
    }

    private void ConnectToGuest()
    {
        var deadline = DateTime.UtcNow + SafetyNet;
        string last = "";
        while (!_disposed && DateTime.UtcNow < deadline)
        {
            ConnectAttempts++;
            try
            {
                using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                socket.Connect(new UnixDomainSocketEndPoint(_udsPath));
                socket.ReceiveTimeout = (int)SafetyNet.TotalMilliseconds;
                socket.Send(Encoding.ASCII.GetBytes($"CONNECT {GuestPort}\n"));
                string? answer = ReadLine(socket);
                if (answer is not null && answer.StartsWith("OK ", StringComparison.Ordinal))
                {
                    socket.Send(Encoding.ASCII.GetBytes(HostMessage + "\n"));
                    GuestAnswered = ReadLine(socket);
                    return;
                }
                // Reset before OK: the guest's socat was not listening yet.
                last = answer ?? "closed before OK";
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                last = e.Message;
            }
            Thread.Sleep(250);
        }
        if (!_disposed)
            Problem($"host client: no CONNECT {GuestPort} was accepted in {ConnectAttempts} attempts (last: {last})");
    }

    /// <summary>One line without its newline, or null when the stream ends first; at most <see cref="MaxLine"/> bytes.</summary>
    private static string? ReadLine(Socket socket)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (line.Length < MaxLine)
        {
            if (socket.Receive(one) == 0)
                return null;
            if (one[0] == '\n')
                return line.ToString();
            line.Append((char)one[0]);
        }
        return line.ToString();
    }

    /// <summary>
    /// Once the machine has stopped: waits for the host programs to finish (the guest may power off before they
    /// have read its last bytes), and notes a guest that never connected.
    /// </summary>
    public void Finish()
    {
        if (!_echo.Join(TimeSpan.FromSeconds(10)))
        {
            _stopped = true;
            Problem($"no guest connection reached {_udsPath}_{HostPort}, or its line never came");
            _echo.Join(TimeSpan.FromSeconds(5));
        }
        _client?.Join(SafetyNet);
    }

    public void Dispose()
    {
        _disposed = true;
        _listener.Dispose();
        _echo.Join(TimeSpan.FromSeconds(5));
        _client?.Join(TimeSpan.FromSeconds(5));
    }
}
