using System.Globalization;

namespace Ember.Devices.Virtio.Socket;

/// <summary>
/// The text handshake of a host-initiated vsock connection (Firecracker's docs/vsock.md): a program on the host
/// connects to the Unix socket at uds_path and sends "CONNECT &lt;port&gt;\n" with the guest's port in decimal;
/// once the guest accepts, the device answers "OK &lt;host port&gt;\n" with the port it assigned to the host end,
/// and the connection carries payload from then on.
/// <para>
/// Threat model: the bytes come from any local program that can open the socket. The line is capped at
/// <see cref="MaxLength"/> bytes, so the device buffers no more than that before it knows the port; input that
/// can no longer become a valid line is rejected as soon as it is seen, not when the cap is reached; the port is
/// accumulated with an overflow check. Accepted: "CONNECT", one or more spaces or tabs, decimal digits of a value
/// up to 2^32 - 1 (leading zeros allowed within the cap), optional spaces, tabs or a carriage return, and "\n";
/// the blanks and the carriage return are tolerated because Firecracker splits the line at whitespace.
/// </para>
/// </summary>
public static class HostConnectLine
{
    /// <summary>The longest line, newline included, the device waits for.</summary>
    public const int MaxLength = 32;

    /// <summary>"OK 4294967295\n": the longest acknowledgement.</summary>
    public const int MaxAcknowledgementLength = 14;

    private static ReadOnlySpan<byte> Keyword => "CONNECT"u8;

    private enum State
    {
        Keyword,
        Separator,
        Blanks,
        Digits,
        Trailing,
    }

    /// <summary>
    /// Parses the bytes received so far. On <see cref="ConnectLineStatus.Complete"/>, <paramref name="port"/> is the
    /// guest port and <paramref name="lineLength"/> how many bytes of <paramref name="received"/> the line took (the
    /// rest is payload); otherwise both are 0. Only the first <see cref="MaxLength"/> bytes are ever looked at.
    /// </summary>
    public static ConnectLineStatus Parse(ReadOnlySpan<byte> received, out uint port, out int lineLength)
    {
        port = 0;
        lineLength = 0;
        var state = State.Keyword;
        int keywordMatched = 0;
        uint value = 0;
        var window = received[..Math.Min(received.Length, MaxLength)];
        for (int i = 0; i < window.Length; i++)
        {
            byte b = window[i];
            if (b == (byte)'\n')
            {
                if (state is not (State.Digits or State.Trailing))
                    return ConnectLineStatus.Malformed;
                port = value;
                lineLength = i + 1;
                return ConnectLineStatus.Complete;
            }
            bool blank = b is (byte)' ' or (byte)'\t';
            bool digit = b is >= (byte)'0' and <= (byte)'9';
            switch (state)
            {
                case State.Keyword:
                    if (b != Keyword[keywordMatched])
                        return ConnectLineStatus.Malformed;
                    if (++keywordMatched == Keyword.Length)
                        state = State.Separator;
                    break;
                case State.Separator:
                    if (!blank)
                        return ConnectLineStatus.Malformed;
                    state = State.Blanks;
                    break;
                case State.Blanks:
                    if (blank)
                        break;
                    if (!digit)
                        return ConnectLineStatus.Malformed;
                    value = (uint)(b - '0');
                    state = State.Digits;
                    break;
                case State.Digits:
                    if (digit)
                    {
                        uint d = (uint)(b - '0');
                        if (value > (uint.MaxValue - d) / 10)
                            return ConnectLineStatus.PortOutOfRange;
                        value = value * 10 + d;
                    }
                    else if (blank || b == (byte)'\r')
                        state = State.Trailing;
                    else
                        return ConnectLineStatus.Malformed;
                    break;
                case State.Trailing:
                    if (!(blank || b == (byte)'\r'))
                        return ConnectLineStatus.Malformed;
                    break;
            }
        }
        return received.Length >= MaxLength ? ConnectLineStatus.TooLong : ConnectLineStatus.Incomplete;
    }

    /// <summary>Writes "OK &lt;hostPort&gt;\n" into <paramref name="destination"/> (at least <see cref="MaxAcknowledgementLength"/> bytes) and returns its length.</summary>
    public static int WriteAcknowledgement(uint hostPort, Span<byte> destination)
    {
        if (destination.Length < MaxAcknowledgementLength)
            throw new ArgumentException($"an acknowledgement needs up to {MaxAcknowledgementLength} bytes", nameof(destination));
        "OK "u8.CopyTo(destination);
        hostPort.TryFormat(destination[3..], out int digits, default, CultureInfo.InvariantCulture);
        destination[3 + digits] = (byte)'\n';
        return 3 + digits + 1;
    }
}
