namespace Ember.Vmm.Debugging;

/// <summary>
/// The hex forms of the GDB remote protocol (GDB manual, "Packets"): bytes as two lowercase digits each, and
/// numbers (addresses, lengths, register numbers, thread ids) as big-endian hex of any length. Every parser
/// returns false on anything malformed or out of range, so a bad packet becomes an error reply, never an exception.
/// </summary>
internal static class GdbHex
{
    private const string Digits = "0123456789abcdef";

    /// <summary>The value of one hex digit, or -1.</summary>
    public static int DigitValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>Appends <paramref name="bytes"/> as two lowercase hex digits each.</summary>
    public static void AppendBytes(System.Text.StringBuilder builder, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            builder.Append(Digits[b >> 4]);
            builder.Append(Digits[b & 0xF]);
        }
    }

    public static string EncodeBytes(ReadOnlySpan<byte> bytes)
    {
        var builder = new System.Text.StringBuilder(bytes.Length * 2);
        AppendBytes(builder, bytes);
        return builder.ToString();
    }

    /// <summary>Decodes pairs of hex digits into <paramref name="destination"/>, which must be exactly half as long as <paramref name="hex"/>.</summary>
    public static bool TryDecodeBytes(ReadOnlySpan<byte> hex, Span<byte> destination)
    {
        if (hex.Length != destination.Length * 2)
            return false;
        for (int i = 0; i < destination.Length; i++)
        {
            int high = DigitValue(hex[2 * i]), low = DigitValue(hex[2 * i + 1]);
            if (high < 0 || low < 0)
                return false;
            destination[i] = (byte)(high << 4 | low);
        }
        return true;
    }

    /// <summary>A whole field as an unsigned number: 1 to 16 hex digits, nothing else.</summary>
    public static bool TryParseNumber(ReadOnlySpan<byte> text, out ulong value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 16)
            return false;
        foreach (byte c in text)
        {
            int digit = DigitValue(c);
            if (digit < 0)
                return false;
            value = value << 4 | (uint)digit;
        }
        return true;
    }

    /// <summary>
    /// A thread id as GDB writes it without the multiprocess extension: a positive hex number, 0 (any thread)
    /// or -1 (all threads).
    /// </summary>
    public static bool TryParseThreadId(ReadOnlySpan<byte> text, out long threadId)
    {
        threadId = 0;
        if (text.SequenceEqual("-1"u8))
        {
            threadId = -1;
            return true;
        }
        if (!TryParseNumber(text, out ulong value) || value > int.MaxValue)
            return false;
        threadId = (long)value;
        return true;
    }

    /// <summary>"ADDR,LENGTH" (the m, M, X, Z and z argument form): two numbers split at the first comma.</summary>
    public static bool TryParseAddressAndLength(ReadOnlySpan<byte> text, out ulong address, out ulong length)
    {
        length = 0;
        int comma = text.IndexOf((byte)',');
        address = 0;
        return comma > 0 && TryParseNumber(text[..comma], out address) && TryParseNumber(text[(comma + 1)..], out length);
    }

    /// <summary>Lowercase hex without leading zeros, as GDB prints numbers in stop replies.</summary>
    public static string Number(ulong value) => value.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
}
