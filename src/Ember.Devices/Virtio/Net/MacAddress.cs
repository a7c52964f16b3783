using System.Globalization;

namespace Ember.Devices.Virtio.Net;

/// <summary>
/// An Ethernet interface's unicast address, written as six colon-separated hex pairs (02:00:00:00:00:01). Multicast
/// addresses (bit 0 of the first byte) and all zeros name no interface, so they do not parse.
/// </summary>
public readonly struct MacAddress : IEquatable<MacAddress>
{
    public const int Length = 6;

    // The six bytes in transmission order, the first in the top byte of the low 48 bits.
    private readonly ulong _value;

    private MacAddress(ulong value) => _value = value;

    /// <summary>Null when <paramref name="text"/> is a unicast MAC address (sets <paramref name="address"/>); else why not, in one line.</summary>
    public static string? TryParse(string text, out MacAddress address)
    {
        ArgumentNullException.ThrowIfNull(text);
        address = default;
        var parts = text.Split(':');
        if (parts.Length != Length || parts.Any(p => p.Length != 2 || !p.All(char.IsAsciiHexDigit)))
            return $"'{text}' is not a MAC address (six hex pairs separated by ':', e.g. 02:00:00:00:00:01)";
        ulong value = 0;
        foreach (var part in parts)
            value = (value << 8) | byte.Parse(part, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        var candidate = new MacAddress(value);
        if (value == 0)
            return $"'{text}' is the all-zero MAC address, which names no interface";
        if (candidate.IsMulticast)
            return $"'{text}' is a multicast MAC address (the first byte is odd); an interface needs a unicast one";
        address = candidate;
        return null;
    }

    /// <summary>Parses <paramref name="text"/>; throws <see cref="FormatException"/> with the reason.</summary>
    public static MacAddress Parse(string text) =>
        TryParse(text, out var address) is { } problem ? throw new FormatException(problem) : address;

    /// <summary>Bit 0 of the first byte: a group address.</summary>
    public bool IsMulticast => (_value & (1UL << 40)) != 0;

    public void CopyTo(Span<byte> destination)
    {
        if (destination.Length < Length)
            throw new ArgumentException("a MAC address needs 6 bytes", nameof(destination));
        for (int i = 0; i < Length; i++)
            destination[i] = (byte)(_value >> (8 * (Length - 1 - i)));
    }

    public byte[] ToArray()
    {
        var bytes = new byte[Length];
        CopyTo(bytes);
        return bytes;
    }

    public override string ToString() => string.Join(':', ToArray().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));

    public bool Equals(MacAddress other) => _value == other._value;

    public override bool Equals(object? obj) => obj is MacAddress other && Equals(other);

    public override int GetHashCode() => _value.GetHashCode();

    public static bool operator ==(MacAddress left, MacAddress right) => left.Equals(right);

    public static bool operator !=(MacAddress left, MacAddress right) => !left.Equals(right);
}
