using System.Globalization;
using System.Text.RegularExpressions;

namespace Ember.TestGuests.Virtio;

/// <summary>
/// What the virtio-net test guest printed on COM1, parsed: the device, the host's MAC from its ARP reply, the echo
/// reply's length and the frames skipped, and "done" or a failure. Other lines are ignored.
/// </summary>
public sealed partial record VirtioNetGuestReport
{
    public VirtioGuestFoundLine? Found { get; init; }
    public byte[]? HostMac { get; init; }
    public uint? ReplyLength { get; init; }
    public uint? Skipped { get; init; }
    public bool Done { get; init; }

    /// <summary>The "FAIL" line: the outcome and the stage it stopped in.</summary>
    public (VirtioGuestOutcome Outcome, VirtioNetGuestStage Stage)? Failure { get; init; }

    public static VirtioNetGuestReport Parse(string console)
    {
        ArgumentNullException.ThrowIfNull(console);
        var report = new VirtioNetGuestReport();
        foreach (string line in console.Split('\n'))
        {
            if (VirtioGuestFoundLine.TryParse("virtio-net", line, out var found, out string rest) && rest.Length == 0)
                report = report with { Found = found };
            else if (ArpLine().Match(line) is { Success: true } arp)
                report = report with { HostMac = [.. arp.Groups[1].Captures.Select(c => (byte)Hex(c.Value))] };
            else if (EchoLine().Match(line) is { Success: true } echo)
                report = report with { ReplyLength = Hex(echo.Groups[1].Value), Skipped = Hex(echo.Groups[2].Value) };
            else if (FailLine().Match(line) is { Success: true } fail)
                report = report with { Failure = ((VirtioGuestOutcome)Hex(fail.Groups[1].Value), (VirtioNetGuestStage)Hex(fail.Groups[2].Value)), Skipped = Hex(fail.Groups[3].Value) };
            else if (line == "done")
                report = report with { Done = true };
        }
        return report;
    }

    private static uint Hex(string digits) => uint.Parse(digits, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    [GeneratedRegex("^arp reply from(?: ([0-9a-f]{2})){6}$")]
    private static partial Regex ArpLine();

    [GeneratedRegex("^echo reply bytes ([0-9a-f]{8}) skipped ([0-9a-f]{8})$")]
    private static partial Regex EchoLine();

    [GeneratedRegex("^FAIL ([0-9a-f]{2}) stage ([0-9a-f]{2}) skipped ([0-9a-f]{8})$")]
    private static partial Regex FailLine();
}
