using System.Globalization;
using System.Text.RegularExpressions;

namespace Ember.TestGuests.Virtio;

/// <summary>
/// What the virtio-blk test guest printed on COM1, parsed: the device it found (slot, where the common
/// configuration and queue 0's doorbell are, the capacity), a line per completed step, and either "done" or
/// a failure. Lines it does not recognise are ignored, so other console output does not break the parse.
/// </summary>
public sealed partial record VirtioBlockGuestReport
{
    public int? Slot { get; init; }
    public uint? CommonConfiguration { get; init; }
    public uint? NotifyAddress { get; init; }
    public ulong? CapacitySectors { get; init; }
    public IReadOnlyList<VirtioBlockStepReport> Steps { get; init; } = [];
    public bool Done { get; init; }
    public VirtioBlockGuestFailure? Failure { get; init; }

    public static VirtioBlockGuestReport Parse(string console)
    {
        ArgumentNullException.ThrowIfNull(console);
        var report = new VirtioBlockGuestReport();
        var steps = new List<VirtioBlockStepReport>();
        foreach (string line in console.Split('\n'))
        {
            if (VirtioGuestFoundLine.TryParse("virtio-blk", line, out var found, out string rest) && CapacityTail().Match(rest) is { Success: true } capacity)
            {
                report = report with
                {
                    Slot = found.Slot,
                    CommonConfiguration = found.CommonConfiguration,
                    NotifyAddress = found.NotifyAddress,
                    CapacitySectors = ulong.Parse(capacity.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                };
            }
            else if (StepLine().Match(line) is { Success: true } step)
            {
                steps.Add(new VirtioBlockStepReport(
                    (int)Hex(step.Groups[1].Value),
                    step.Groups[2].Success ? (uint)Hex(step.Groups[2].Value) : null,
                    step.Groups[3].Success ? step.Groups[3].Value : null));
            }
            else if (FailLine().Match(line) is { Success: true } fail)
            {
                uint stepIndex = (uint)Hex(fail.Groups[2].Value);
                report = report with
                {
                    Failure = new VirtioBlockGuestFailure((VirtioGuestOutcome)Hex(fail.Groups[1].Value),
                        stepIndex == uint.MaxValue ? null : (int)stepIndex, (uint)Hex(fail.Groups[3].Value), (byte)Hex(fail.Groups[4].Value)),
                };
            }
            else if (line == "done")
            {
                report = report with { Done = true };
            }
        }
        return report with { Steps = steps };
    }

    private static long Hex(string digits) => long.Parse(digits, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    [GeneratedRegex("^ capacity ([0-9a-f]{16})$")]
    private static partial Regex CapacityTail();

    [GeneratedRegex("^step ([0-9a-f]{2}) ok(?: sum ([0-9a-f]{8}))?(?: id (.*))?$")]
    private static partial Regex StepLine();

    [GeneratedRegex("^FAIL ([0-9a-f]{2}) step ([0-9a-f]{8}) request ([0-9a-f]{8}) status ([0-9a-f]{2})$")]
    private static partial Regex FailLine();
}
