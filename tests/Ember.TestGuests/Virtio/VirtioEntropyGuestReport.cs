using System.Globalization;
using System.Text.RegularExpressions;

namespace Ember.TestGuests.Virtio;

/// <summary>
/// What the virtio-rng test guest printed on COM1, parsed: the device it found, how many bytes it gathered in how many
/// requests and the first of them, and "done" or a failure. Lines it does not recognise are ignored.
/// </summary>
public sealed partial record VirtioEntropyGuestReport
{
    public VirtioGuestFoundLine? Found { get; init; }
    public uint? Bytes { get; init; }
    public uint? Requests { get; init; }
    public IReadOnlyList<byte> FirstBytes { get; init; } = [];
    public bool Done { get; init; }

    /// <summary>The outcome on the "FAIL" line, if there was one.</summary>
    public VirtioGuestOutcome? Failure { get; init; }

    public static VirtioEntropyGuestReport Parse(string console)
    {
        ArgumentNullException.ThrowIfNull(console);
        var report = new VirtioEntropyGuestReport();
        foreach (string line in console.Split('\n'))
        {
            if (VirtioGuestFoundLine.TryParse("virtio-rng", line, out var found, out string rest) && rest.Length == 0)
            {
                report = report with { Found = found };
            }
            else if (ResultLine().Match(line) is { Success: true } result)
            {
                report = report with
                {
                    Bytes = Hex(result.Groups[1].Value),
                    Requests = Hex(result.Groups[2].Value),
                    FirstBytes = [.. result.Groups[3].Captures.Select(c => (byte)Hex(c.Value))],
                };
            }
            else if (FailLine().Match(line) is { Success: true } fail)
            {
                report = report with
                {
                    Failure = (VirtioGuestOutcome)Hex(fail.Groups[1].Value),
                    Bytes = Hex(fail.Groups[2].Value),
                    Requests = Hex(fail.Groups[3].Value),
                };
            }
            else if (line == "done")
            {
                report = report with { Done = true };
            }
        }
        return report;
    }

    private static uint Hex(string digits) => uint.Parse(digits, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    [GeneratedRegex("^entropy bytes ([0-9a-f]{8}) requests ([0-9a-f]{8}) first(?: ([0-9a-f]{2}))*$")]
    private static partial Regex ResultLine();

    [GeneratedRegex("^FAIL ([0-9a-f]{2}) bytes ([0-9a-f]{8}) requests ([0-9a-f]{8})$")]
    private static partial Regex FailLine();
}
