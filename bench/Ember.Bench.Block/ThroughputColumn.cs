using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Ember.Bench.Block;

/// <summary>Requests per second or MB/s (10^6 bytes) from a benchmark's mean time per request; the transfer size is in its name.</summary>
public sealed class ThroughputColumn(bool megabytes) : IColumn
{
    public string Id => megabytes ? "MBps" : "ReqPerSec";
    public string ColumnName => megabytes ? "MB/s" : "req/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => megabytes ? 1 : 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => megabytes ? "MB/s (10^6 bytes per second) at the mean time per request" : "Requests per second at the mean time per request";

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        if (summary[benchmarkCase]?.ResultStatistics is not { } statistics)
            return "-";
        double perSecond = 1e9 / statistics.Mean;
        if (!megabytes)
            return perSecond.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
        int bytes = benchmarkCase.Descriptor.WorkloadMethod.Name.Contains("Random", StringComparison.Ordinal) ? BlockPathBenchmarks.Small : BlockPathBenchmarks.Large;
        return (perSecond * bytes / 1e6).ToString("N1", System.Globalization.CultureInfo.InvariantCulture);
    }
}
