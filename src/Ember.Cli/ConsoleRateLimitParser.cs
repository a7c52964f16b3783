using System.Globalization;
using Ember.Devices.RateLimiting;

namespace Ember.Cli;

/// <summary>
/// --console-rate-limit size=BYTES,refill=MS[,burst=BYTES]: Firecracker's serial token bucket (size, refill_time,
/// one_time_burst) for `ember run`. Byte counts are plain numbers or take K, M or G (binary units); unlike --memory,
/// a bare number is bytes, since a console budget is counted in bytes. A limit of 0 is refused rather than read
/// as Firecracker's "no limit": a user who writes the option wants one.
/// </summary>
internal static class ConsoleRateLimitParser
{
    private const string Form = "size=BYTES,refill=MS[,burst=BYTES]";

    public static bool TryParse(string text, out TokenBucketSettings? bucket, out string? error)
    {
        bucket = null;
        error = null;
        ulong? size = null, refill = null, burst = null;
        foreach (string part in text.Split(','))
        {
            int equals = part.IndexOf('=', StringComparison.Ordinal);
            string key = equals < 0 ? part : part[..equals];
            string value = equals < 0 ? "" : part[(equals + 1)..];
            if (equals < 0 || key is not ("size" or "refill" or "burst"))
            {
                error = $"unknown --console-rate-limit setting '{part}' in '{text}' ({Form})";
                return false;
            }
            if ((key == "size" && size is not null) || (key == "refill" && refill is not null) || (key == "burst" && burst is not null))
            {
                error = $"--console-rate-limit '{text}' gives {key}= twice ({Form})";
                return false;
            }
            ulong number;
            if (key == "refill")
            {
                if (!ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out number))
                {
                    error = $"--console-rate-limit refill= is a whole number of milliseconds, not '{value}' ({Form})";
                    return false;
                }
            }
            else if (!TryParseBytes(value, out number))
            {
                error = $"--console-rate-limit {key}= is a byte count (e.g. 4096 or 64K), not '{value}' ({Form})";
                return false;
            }
            switch (key)
            {
                case "size":
                    size = number;
                    break;
                case "refill":
                    refill = number;
                    break;
                default:
                    burst = number;
                    break;
            }
        }
        if (size is null || refill is null)
        {
            error = $"--console-rate-limit '{text}' needs {(size is null ? "size=BYTES" : "refill=MS")} ({Form})";
            return false;
        }
        if (size == 0 || refill == 0)
        {
            error = $"--console-rate-limit needs a size and a refill time above 0 (leave the option out for no limit)";
            return false;
        }
        bucket = new TokenBucketSettings(size.Value, refill.Value, burst ?? 0);
        return true;
    }

    /// <summary>A byte count: digits, optionally K, M or G (KiB, MiB, GiB); at most 1 TiB, far above any sensible budget.</summary>
    private static bool TryParseBytes(string text, out ulong bytes)
    {
        bytes = 0;
        int shift = text.Length == 0 ? 0 : char.ToUpperInvariant(text[^1]) switch
        {
            'K' => 10,
            'M' => 20,
            'G' => 30,
            _ => 0,
        };
        string digits = shift == 0 ? text : text[..^1];
        if (!ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out ulong number) || number > (1UL << 40) >> shift)
            return false;
        bytes = number << shift;
        return true;
    }
}
