namespace Ember.Vmm.Debugging;

/// <summary>
/// Splits the byte stream GDB sends into packets and control bytes (GDB manual, "Overview" of the remote
/// protocol): <c>$payload#cs</c> where cs is two hex digits of the payload bytes' sum modulo 256, '+' and '-'
/// acknowledgements, and 0x03 for an interrupt. The payload is unescaped (<c>}</c> then the byte XOR 0x20) and
/// run-length decoded (<c>x*n</c>: x repeated n − 29 more times) after the checksum matched.
/// <para>
/// Threat model: the peer is whoever connects to the stub's socket. Nothing it sends can grow a buffer beyond
/// <see cref="MaxPacketSize"/> (raw or decoded); a packet over it is consumed to its end and reported as
/// <see cref="GdbInputKind.Overlong"/>; broken escapes or runs are <see cref="GdbInputKind.Malformed"/>; a stray
/// '$' restarts the packet, as GDB's own reader does. Nothing here throws on input.
/// </para>
/// </summary>
internal sealed class GdbPacketFramer
{
    private enum State { Idle, Payload, ChecksumHigh, ChecksumLow }

    /// <summary>A run-length count is a printable byte n meaning n − 29 repeats (GDB manual, "Overview").</summary>
    private const int RunLengthBias = 29;

    private readonly byte[] _raw;
    private State _state;
    private int _length;
    private bool _overlong;
    private byte _sum;
    private int _checksumHigh;

    public GdbPacketFramer(int maxPacketSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPacketSize, 16);
        MaxPacketSize = maxPacketSize;
        _raw = new byte[maxPacketSize];
    }

    /// <summary>The most payload bytes one packet may carry, before and after decoding (the PacketSize GDB is told).</summary>
    public int MaxPacketSize { get; }

    /// <summary>Forgets a packet half received (a new connection starts clean).</summary>
    public void Reset()
    {
        _state = State.Idle;
        _length = 0;
        _overlong = false;
        _sum = 0;
    }

    /// <summary>Consumes <paramref name="input"/> and adds what it completed to <paramref name="found"/>.</summary>
    public void Feed(ReadOnlySpan<byte> input, List<GdbInput> found)
    {
        foreach (byte b in input)
        {
            switch (_state)
            {
                case State.Idle:
                    switch (b)
                    {
                        case (byte)'$':
                            StartPacket();
                            break;
                        case (byte)'+':
                            found.Add(GdbInput.Control(GdbInputKind.Ack));
                            break;
                        case (byte)'-':
                            found.Add(GdbInput.Control(GdbInputKind.Nak));
                            break;
                        case 0x03:
                            found.Add(GdbInput.Control(GdbInputKind.Interrupt));
                            break;
                        // Anything else between packets is line noise and is skipped.
                    }
                    break;
                case State.Payload:
                    if (b == (byte)'#')
                    {
                        _state = State.ChecksumHigh;
                    }
                    else if (b == (byte)'$')
                    {
                        StartPacket();
                    }
                    else
                    {
                        _sum += b;
                        if (_length < _raw.Length)
                            _raw[_length++] = b;
                        else
                            _overlong = true;
                    }
                    break;
                case State.ChecksumHigh:
                    _checksumHigh = GdbHex.DigitValue(b);
                    _state = State.ChecksumLow;
                    break;
                case State.ChecksumLow:
                    int low = GdbHex.DigitValue(b);
                    _state = State.Idle;
                    found.Add(Complete(_checksumHigh >= 0 && low >= 0 && (byte)(_checksumHigh << 4 | low) == _sum));
                    break;
            }
        }
    }

    private void StartPacket()
    {
        _state = State.Payload;
        _length = 0;
        _overlong = false;
        _sum = 0;
    }

    private GdbInput Complete(bool checksumMatches)
    {
        if (!checksumMatches)
            return GdbInput.Control(GdbInputKind.BadChecksum);
        if (_overlong)
            return GdbInput.Control(GdbInputKind.Overlong);
        return Decode(_raw.AsSpan(0, _length), MaxPacketSize, out byte[] payload) switch
        {
            DecodeResult.Ok => new GdbInput(GdbInputKind.Packet, payload),
            DecodeResult.TooLong => GdbInput.Control(GdbInputKind.Overlong),
            _ => GdbInput.Control(GdbInputKind.Malformed),
        };
    }

    private enum DecodeResult { Ok, TooLong, Malformed }

    /// <summary>Undoes escaping and run-length encoding; the result never exceeds <paramref name="limit"/> bytes.</summary>
    private static DecodeResult Decode(ReadOnlySpan<byte> raw, int limit, out byte[] payload)
    {
        payload = [];
        var output = new byte[Math.Min(limit, Math.Max(raw.Length, 1) * 2)];
        int length = 0;
        for (int i = 0; i < raw.Length; i++)
        {
            byte b = raw[i];
            if (b == (byte)'}')
            {
                if (++i >= raw.Length)
                    return DecodeResult.Malformed;
                b = (byte)(raw[i] ^ 0x20);
            }
            else if (b == (byte)'*')
            {
                // A run repeats the byte before it; it cannot open a packet or follow nothing.
                if (length == 0 || ++i >= raw.Length || raw[i] < RunLengthBias + 3 || raw[i] > 126)
                    return DecodeResult.Malformed;
                int repeats = raw[i] - RunLengthBias;
                if (length + repeats > limit)
                    return DecodeResult.TooLong;
                EnsureCapacity(ref output, length + repeats, limit);
                output.AsSpan(length, repeats).Fill(output[length - 1]);
                length += repeats;
                continue;
            }
            if (length >= limit)
                return DecodeResult.TooLong;
            EnsureCapacity(ref output, length + 1, limit);
            output[length++] = b;
        }
        payload = output.AsSpan(0, length).ToArray();
        return DecodeResult.Ok;
    }

    private static void EnsureCapacity(ref byte[] buffer, int needed, int limit)
    {
        if (needed <= buffer.Length)
            return;
        Array.Resize(ref buffer, Math.Min(limit, Math.Max(needed, buffer.Length * 2)));
    }
}
