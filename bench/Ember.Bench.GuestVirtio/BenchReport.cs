using System.Globalization;
using System.Text;
using Ember.Vmm.Machine;

namespace Ember.Bench.GuestVirtio;

/// <summary>The benchmark's output: one raw line per loop, then the markdown tables BENCHMARKS.md takes.</summary>
internal static class BenchReport
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string RawLine(int round, PhaseResult run) => string.Create(Invariant,
        $"round={round} irqchip={run.Irqchip} workload={run.Name} ops={run.Operations} seconds={run.Elapsed.TotalSeconds:F3} " +
        $"per_second={run.PerSecond:F0} exits={{{string.Join(",", run.Exits.Select(e => $"{e.Key}:{e.Value}"))}}} notify_exits={run.NotifyExits} " +
        $"in_kvm_run={run.RunTime.TotalSeconds / run.Elapsed.TotalSeconds:P0}");

    /// <summary>One row per mode: median (best) rates over the rounds, exits per operation over every round's loops.</summary>
    public static string Summary(IReadOnlyList<PhaseResult> results, IReadOnlyList<IrqchipMode> modes)
    {
        var table = new StringBuilder();
        table.AppendLine("| irqchip | blk 4K read req/s | blk 4K write req/s | blk 64K read req/s | blk 64K write req/s | net echo round trips/s (2 frames each) | exits to user space per blk request, by reason | exits per echo round trip, by reason | notify exits (blk / net) |");
        table.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var mode in modes)
        {
            string name = mode.ToString().ToLowerInvariant();
            var mine = results.Where(r => r.Irqchip == name).ToList();
            var blk = mine.Where(r => r.Name.StartsWith("blk", StringComparison.Ordinal)).ToList();
            var net = mine.Where(r => r.Name == NetWorkload.Name).ToList();
            table.Append(Invariant, $"| {name} ");
            foreach (string workload in BlockWorkload.Names)
                table.Append(Invariant, $"| {Rate(mine.Where(r => r.Name == workload))} ");
            table.Append(Invariant, $"| {Rate(net)} | {ExitsPerOperation(blk)} | {ExitsPerOperation(net)} | {Notify(blk)} / {Notify(net)} |");
            table.AppendLine();
        }
        return table.ToString().TrimEnd();
    }

    /// <summary>One row per mode and workload: the rate's spread, MB/s, exits per operation, the share of the loop inside KVM_RUN.</summary>
    public static string Detail(IReadOnlyList<PhaseResult> results, IReadOnlyList<IrqchipMode> modes)
    {
        var table = new StringBuilder();
        table.AppendLine("| irqchip | workload | loops × ops | ops/s median (min–max) | MB/s | exits per op, by reason (total) | notify exits per op | time in KVM_RUN |");
        table.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var mode in modes)
        {
            string name = mode.ToString().ToLowerInvariant();
            foreach (string workload in BlockWorkload.Names.Append(NetWorkload.Name))
            {
                var runs = results.Where(r => r.Irqchip == name && r.Name == workload).ToList();
                if (runs.Count == 0)
                    continue;
                double median = Median(runs.Select(r => r.PerSecond));
                int bytes = workload.EndsWith("-64k", StringComparison.Ordinal) ? 65536 : workload.EndsWith("-4k", StringComparison.Ordinal) ? 4096 : 0;
                string megabytes = bytes == 0 ? "—" : (median * bytes / 1e6).ToString("F1", Invariant);
                double inRun = runs.Sum(r => r.RunTime.TotalSeconds) / runs.Sum(r => r.Elapsed.TotalSeconds);
                table.AppendLine(string.Create(Invariant,
                    $"| {name} | {workload} | {runs.Count} × {runs[0].Operations} | {median:N0} ({runs.Min(r => r.PerSecond):N0}–{runs.Max(r => r.PerSecond):N0}) | {megabytes} | " +
                    $"{ExitsPerOperation(runs)} | {Notify(runs)} | {inRun:P0} |"));
            }
        }
        return table.ToString().TrimEnd();
    }

    /// <summary>"median (best)": on a loaded host the best round is the one that had the CPU most to itself.</summary>
    private static string Rate(IEnumerable<PhaseResult> runs)
    {
        var rates = runs.Select(r => r.PerSecond).ToList();
        return rates.Count == 0 ? "—" : string.Create(Invariant, $"{Median(rates):N0} ({rates.Max():N0})");
    }

    /// <summary>"0", or each reason's exits per operation over all the loops, with the count: "mmio 0.0001 (3), io 0.0002 (6)".</summary>
    private static string ExitsPerOperation(IReadOnlyList<PhaseResult> runs)
    {
        if (runs.Count == 0)
            return "—";
        long operations = runs.Sum(r => r.Operations);
        var byReason = runs.SelectMany(r => r.Exits).GroupBy(e => e.Key, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => (Reason: g.Key, Count: g.Sum(e => e.Value))).Where(e => e.Count != 0).ToList();
        return byReason.Count == 0 ? "0" : string.Join(", ", byReason.Select(e => string.Create(Invariant, $"{e.Reason} {e.Count / (double)operations:0.####} ({e.Count})")));
    }

    private static string Notify(IReadOnlyList<PhaseResult> runs) =>
        runs.Count == 0 ? "—" : string.Create(Invariant, $"{runs.Sum(r => r.NotifyExits)} in {runs.Sum(r => r.Operations):N0}");

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
