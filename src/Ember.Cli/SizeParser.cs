using System.Globalization;

namespace Ember.Cli;

/// <summary>Parses memory sizes the way QEMU's -m does: a number with an optional K/M/G/T suffix (KiB units), MiB when bare.</summary>
internal static class SizeParser
{
    public static bool TryParse(string text, out ulong bytes, out string? error)
    {
        bytes = 0;
        error = null;
        string s = text.Trim();
        int split = 0;
        while (split < s.Length && char.IsAsciiDigit(s[split]))
            split++;
        if (split == 0 || !ulong.TryParse(s.AsSpan(0, split), NumberStyles.None, CultureInfo.InvariantCulture, out ulong number))
        {
            error = $"invalid size '{text}': expected a number with an optional K, M, G or T suffix";
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
            error = $"invalid size '{text}': unknown unit '{s[split..]}'";
            return false;
        }
        if (number > (ulong.MaxValue >> shift))
        {
            error = $"invalid size '{text}': too large";
            return false;
        }
        bytes = number << shift;
        return true;
    }
}
