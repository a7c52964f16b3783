using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;

namespace Ember.Vmm.Debugging;

/// <summary>
/// Where the GDB stub listens: <c>tcp:HOST:PORT</c> (HOST an IP address, <c>[v6]</c> or <c>localhost</c>; port 0 picks a
/// free one) or <c>unix:PATH</c>. The stub serves one debugger at a time; anyone who can reach the endpoint can read and
/// change the guest, so the CLI's examples bind to loopback.
/// </summary>
public sealed record GdbEndpoint
{
    private GdbEndpoint(GdbTransport transport, IPAddress? host, int port, string? path)
    {
        Transport = transport;
        Host = host;
        Port = port;
        Path = path;
    }

    public GdbTransport Transport { get; }

    /// <summary>The TCP address to bind (null for a Unix socket).</summary>
    public IPAddress? Host { get; }

    /// <summary>The TCP port (0: any free port).</summary>
    public int Port { get; }

    /// <summary>The Unix socket path (null for TCP).</summary>
    public string? Path { get; }

    public static GdbEndpoint Tcp(IPAddress host, int port) => new(GdbTransport.Tcp, host, port, null);

    public static GdbEndpoint Unix(string path) => new(GdbTransport.Unix, null, 0, path);

    /// <summary>Parses <c>tcp:HOST:PORT</c> or <c>unix:PATH</c>; on failure <paramref name="error"/> says why in one line.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out GdbEndpoint? endpoint, [NotNullWhen(false)] out string? error)
    {
        endpoint = null;
        error = null;
        if (text.StartsWith("unix:", StringComparison.Ordinal))
        {
            if (text.Length == 5)
            {
                error = "--gdb unix: needs a socket path (unix:PATH)";
                return false;
            }
            endpoint = Unix(text[5..]);
            return true;
        }
        if (!text.StartsWith("tcp:", StringComparison.Ordinal))
        {
            error = $"--gdb '{text}' must be tcp:HOST:PORT or unix:PATH";
            return false;
        }
        string rest = text[4..];
        int colon = rest.LastIndexOf(':');
        if (colon <= 0)
        {
            error = $"--gdb '{text}' needs a host and a port (tcp:127.0.0.1:1234)";
            return false;
        }
        string hostText = rest[..colon];
        if (hostText.StartsWith('[') && hostText.EndsWith(']'))
            hostText = hostText[1..^1];
        IPAddress? host = hostText == "localhost" ? IPAddress.Loopback : IPAddress.TryParse(hostText, out var parsed) ? parsed : null;
        if (host is null)
        {
            error = $"--gdb '{text}': '{hostText}' is not an IP address (or localhost)";
            return false;
        }
        if (!int.TryParse(rest[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535)
        {
            error = $"--gdb '{text}': the port must be a number from 0 to 65535";
            return false;
        }
        endpoint = Tcp(host, port);
        return true;
    }

    public override string ToString() => Transport == GdbTransport.Unix
        ? $"unix:{Path}"
        : Host!.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"tcp:[{Host}]:{Port}" : $"tcp:{Host}:{Port}";
}
