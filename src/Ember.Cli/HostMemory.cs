using System.Globalization;

namespace Ember.Cli;

/// <summary>The host's RAM as /proc/meminfo's MemTotal gives it, to warn before a guest is given more.</summary>
internal static class HostMemory
{
    public static ulong? TotalBytes(string meminfo = "/proc/meminfo")
    {
        try
        {
            foreach (string line in File.ReadLines(meminfo))
            {
                if (!line.StartsWith("MemTotal:", StringComparison.Ordinal))
                    continue;
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return fields.Length >= 2 && ulong.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out ulong kib) ? kib << 10 : null;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return null;
    }
}
