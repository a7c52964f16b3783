using System.Globalization;
using System.Text.RegularExpressions;

namespace Ember.TestGuests.Virtio;

/// <summary>
/// The line every virtio test guest prints once its device is up (<see cref="VirtioPciDriverEmitter.PrintFound"/>):
/// "&lt;name&gt; slot ss common cccccccc notify nnnnnnnn", then what the guest adds.
/// </summary>
public sealed partial record VirtioGuestFoundLine(int Slot, uint CommonConfiguration, uint NotifyAddress)
{
    /// <summary>Parses a line that starts with <paramref name="name"/>'s found line; <paramref name="rest"/> is what follows it.</summary>
    public static bool TryParse(string name, string line, out VirtioGuestFoundLine found, out string rest)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(line);
        found = new VirtioGuestFoundLine(0, 0, 0);
        rest = "";
        if (!line.StartsWith(name + " ", StringComparison.Ordinal) || Fields().Match(line, name.Length) is not { Success: true } match)
            return false;
        found = new VirtioGuestFoundLine((int)Hex(match.Groups[1].Value), Hex(match.Groups[2].Value), Hex(match.Groups[3].Value));
        rest = line[(match.Index + match.Length)..];
        return true;
    }

    private static uint Hex(string digits) => uint.Parse(digits, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"\G slot ([0-9a-f]{2}) common ([0-9a-f]{8}) notify ([0-9a-f]{8})")]
    private static partial Regex Fields();
}
