namespace Ember.Vmm.Debugging;

/// <summary>
/// Frames a reply for GDB: <c>$payload#cs</c>, with '$', '#', '}' and '*' escaped as <c>}</c> and the byte XOR 0x20
/// (GDB manual, "Overview"), so binary replies (qXfer) survive and no byte of a payload can end or restart a packet
/// or be read as a run length. Hex and plain-text replies never contain those bytes, so they pass unchanged.
/// </summary>
internal static class GdbPacketEncoder
{
    public static byte[] Frame(ReadOnlySpan<byte> payload)
    {
        int escaped = 0;
        foreach (byte b in payload)
        {
            if (NeedsEscape(b))
                escaped++;
        }
        var packet = new byte[payload.Length + escaped + 4];
        int at = 0;
        packet[at++] = (byte)'$';
        byte sum = 0;
        foreach (byte b in payload)
        {
            if (NeedsEscape(b))
            {
                packet[at++] = (byte)'}';
                packet[at++] = (byte)(b ^ 0x20);
                sum += (byte)'}';
                sum += (byte)(b ^ 0x20);
            }
            else
            {
                packet[at++] = b;
                sum += b;
            }
        }
        packet[at++] = (byte)'#';
        packet[at++] = HexDigit(sum >> 4);
        packet[at] = HexDigit(sum & 0xF);
        return packet;
    }

    public static byte[] Frame(string payload) => Frame(System.Text.Encoding.ASCII.GetBytes(payload));

    private static bool NeedsEscape(byte b) => b is (byte)'$' or (byte)'#' or (byte)'}' or (byte)'*';

    private static byte HexDigit(int value) => (byte)(value < 10 ? '0' + value : 'a' + value - 10);
}
