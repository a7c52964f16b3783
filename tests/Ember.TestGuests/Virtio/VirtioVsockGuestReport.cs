using System.Globalization;
using System.Text.RegularExpressions;

namespace Ember.TestGuests.Virtio;

/// <summary>
/// What the virtio-vsock test guest printed on COM1, parsed: the device and CID it found, whether it got ready, each
/// step's connection (its host port) and close (the bytes echoed), and "done" or a failure. Other lines are ignored.
/// </summary>
public sealed partial record VirtioVsockGuestReport
{
    public VirtioGuestFoundLine? Found { get; init; }
    public uint? GuestCid { get; init; }
    public bool Ready { get; init; }

    /// <summary>Per step that connected, in order: the connection's host port.</summary>
    public IReadOnlyList<(int Step, uint HostPort)> Connected { get; init; } = [];

    /// <summary>Per step that closed, in order: the payload bytes the guest echoed.</summary>
    public IReadOnlyList<(int Step, uint Echoed)> Closed { get; init; } = [];

    public bool Done { get; init; }

    /// <summary>The "FAIL" line: the outcome, the step (null during bring-up) and the op of the last packet received.</summary>
    public (VirtioGuestOutcome Outcome, int? Step, ushort LastOp)? Failure { get; init; }

    public static VirtioVsockGuestReport Parse(string console)
    {
        ArgumentNullException.ThrowIfNull(console);
        var report = new VirtioVsockGuestReport();
        var connected = new List<(int, uint)>();
        var closed = new List<(int, uint)>();
        foreach (string line in console.Split('\n'))
        {
            if (VirtioGuestFoundLine.TryParse("virtio-vsock", line, out var found, out string rest) && CidTail().Match(rest) is { Success: true } cid)
                report = report with { Found = found, GuestCid = Hex(cid.Groups[1].Value) };
            else if (line == VirtioVsockGuest.ReadyLine)
                report = report with { Ready = true };
            else if (ConnectedLine().Match(line) is { Success: true } c)
                connected.Add(((int)Hex(c.Groups[1].Value), Hex(c.Groups[2].Value)));
            else if (ClosedLine().Match(line) is { Success: true } e)
                closed.Add(((int)Hex(e.Groups[1].Value), Hex(e.Groups[2].Value)));
            else if (FailLine().Match(line) is { Success: true } fail)
            {
                uint step = Hex(fail.Groups[2].Value);
                report = report with { Failure = ((VirtioGuestOutcome)Hex(fail.Groups[1].Value), step == uint.MaxValue ? null : (int)step, (ushort)Hex(fail.Groups[3].Value)) };
            }
            else if (line == "done")
                report = report with { Done = true };
        }
        return report with { Connected = connected, Closed = closed };
    }

    private static uint Hex(string digits) => uint.Parse(digits, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    [GeneratedRegex("^ cid ([0-9a-f]{8})$")]
    private static partial Regex CidTail();

    [GeneratedRegex("^step ([0-9a-f]{2}) connected ([0-9a-f]{8})$")]
    private static partial Regex ConnectedLine();

    [GeneratedRegex("^step ([0-9a-f]{2}) closed echoed ([0-9a-f]{8})$")]
    private static partial Regex ClosedLine();

    [GeneratedRegex("^FAIL ([0-9a-f]{2}) step ([0-9a-f]{8}) op ([0-9a-f]{2})$")]
    private static partial Regex FailLine();
}
