namespace Ember.Bench.GuestVirtio;

/// <summary>One measured loop of one run: <see cref="Operations"/> requests or echoes between two marks.</summary>
/// <param name="Name">The workload (blk-read-4k, blk-write-4k, blk-read-64k, blk-write-64k, net-echo).</param>
/// <param name="Irqchip">The machine's irqchip mode.</param>
/// <param name="Operations">Requests (blk) or echo round trips (net) in the loop.</param>
/// <param name="Elapsed">From the loop's first mark to its last.</param>
/// <param name="Exits">Exits to user space in the loop by reason, the closing mark's own MMIO exit taken off.</param>
/// <param name="NotifyExits">Doorbells in the loop that reached a notify region as MMIO exits.</param>
/// <param name="RunTime">Time inside KVM_RUN in the loop.</param>
internal sealed record PhaseResult(string Name, string Irqchip, long Operations, TimeSpan Elapsed, IReadOnlyDictionary<string, long> Exits, long NotifyExits, TimeSpan RunTime)
{
    public double PerSecond => Operations / Elapsed.TotalSeconds;

    public double ExitsPerOperation(string reason) => Exits.GetValueOrDefault(reason) / (double)Operations;

    public double TotalExitsPerOperation => Exits.Values.Sum() / (double)Operations;

    public double NotifyExitsPerOperation => NotifyExits / (double)Operations;

    /// <summary>Between two marks: the later one's counters less the earlier one's, less the later mark's own MMIO exit.</summary>
    public static PhaseResult Between(string name, string irqchip, long operations, PhaseMark first, PhaseMark last)
    {
        var exits = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var (reason, count) in last.Exits)
        {
            long delta = count - first.Exits.GetValueOrDefault(reason) - (reason == "mmio" ? 1 : 0);
            if (delta != 0)
                exits[reason] = delta;
        }
        return new PhaseResult(name, irqchip, operations, System.Diagnostics.Stopwatch.GetElapsedTime(first.Timestamp, last.Timestamp), exits,
            last.NotifyExits - first.NotifyExits, TimeSpan.FromMicroseconds(last.RunTimeMicroseconds - first.RunTimeMicroseconds));
    }
}
