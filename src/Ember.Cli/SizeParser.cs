using System.Globalization;

namespace Ember.Cli;

/// <summary>
/// Parses memory sizes the way QEMU's -m does: a number with an optional K/M/G/T suffix (binary units),
/// MiB when bare. Decimals are fine when they come to a whole number of bytes (3.5G, 0.5M).
/// </summary>
internal static class SizeParser
{
    public static bool TryParse(string text, out ulong bytes, out string? error)
    {
        bytes = 0;
        error = null;
        string s = text.Trim();
        int split = 0;
        while (split < s.Length && (char.IsAsciiDigit(s[split]) || s[split] == '.'))
            split++;
        if (split == 0 || !decimal.TryParse(s.AsSpan(0, split), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal number))
        {
            error = $"invalid size '{text}': expected a number with an optional K, M, G or T suffix, e.g. 512M or 3.5G";
            return false;
        }
        string suffix = s[split..].ToUpperInvariant();
        int shift = suffix switch
        {
            "" or "M" or "MB" or "MIB" => 20,
            "K" or "KB" or "KIB" => 10,
            "G" or "GB" or "GIB" => 30,
            "T" or "TB" or "TIB" => 40,
            "B" => 0,
            _ => -1,
        };
        if (shift < 0)
        {
            error = $"invalid size '{text}': unknown unit '{s[split..]}' (K, M, G or T)";
            return false;
        }
        decimal value;
        try
        {
            value = number * (1UL << shift);
        }
        catch (OverflowException)
        {
            error = $"invalid size '{text}': too large";
            return false;
        }
        if (value != decimal.Truncate(value))
        {
            error = $"invalid size '{text}': not a whole number of bytes";
            return false;
        }
        if (value > ulong.MaxValue)
        {
            error = $"invalid size '{text}': too large";
            return false;
        }
        bytes = (ulong)value;
        return true;
    }
}
