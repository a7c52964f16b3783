using System.Diagnostics;
using Ember.Devices.Virtio.Block;

namespace Ember.Bench.Block;

/// <summary>
/// The device-to-raw ratios measured so that a shared host's changing load falls on both paths alike: rounds of one
/// device batch and one raw batch back to back (the order alternating), the same offsets for both, and the ratio
/// taken per round; the median over rounds is reported. BenchmarkDotNet runs each benchmark as a block of its own,
/// so its ratios move with whatever else the host did in between; these do not.
/// </summary>
public static class InterleavedComparison
{
    public const int Rounds = 41;

    public sealed record Result(string Workload, int Bytes, int Depth, double DeviceMicroseconds, double RawMicroseconds, double MedianThroughputRatio);

    public static IEnumerable<Result> Run(BenchDiskFile file)
    {
        var harness = new BlockQueueHarness(new FileBlockBackend(file.Handle, readOnly: false));
        var random = new Random(17);
        var offsets = new long[1 << 16];
        for (int i = 0; i < offsets.Length; i++)
            offsets[i] = random.NextInt64(BenchDiskFile.Length / BlockPathBenchmarks.Small) * BlockPathBenchmarks.Small;
        long sequentialCount = BenchDiskFile.Length / BlockPathBenchmarks.Large;

        foreach (var (name, write, bytes, batch, depth) in new[]
        {
            ("4 KiB random read", false, BlockPathBenchmarks.Small, 2048, 1),
            ($"4 KiB random read, {BlockQueueHarness.BatchDepth} per notify", false, BlockPathBenchmarks.Small, 2048, BlockQueueHarness.BatchDepth),
            ("4 KiB random write", true, BlockPathBenchmarks.Small, 2048, 1),
            ($"4 KiB random write, {BlockQueueHarness.BatchDepth} per notify", true, BlockPathBenchmarks.Small, 2048, BlockQueueHarness.BatchDepth),
            ("1 MiB sequential read", false, BlockPathBenchmarks.Large, 64, 1),
            ("1 MiB sequential write", true, BlockPathBenchmarks.Large, 64, 1),
        })
        {
            bool random4K = bytes == BlockPathBenchmarks.Small;
            long Offset(int i) => random4K ? offsets[i & (offsets.Length - 1)] : (i % sequentialCount) * BlockPathBenchmarks.Large;
            int cursor = 0;
            double DeviceBatch(int start)
            {
                Span<long> group = stackalloc long[BlockQueueHarness.BatchDepth];
                long t = Stopwatch.GetTimestamp();
                if (depth == 1)
                {
                    for (int i = 0; i < batch; i++)
                        harness.Submit(write, Offset(start + i), (uint)bytes);
                }
                else
                {
                    for (int i = 0; i < batch; i += depth)
                    {
                        for (int j = 0; j < depth; j++)
                            group[j] = Offset(start + i + j);
                        harness.SubmitBatch(write, group[..depth], (uint)bytes);
                    }
                }
                return Stopwatch.GetElapsedTime(t).TotalMicroseconds / batch;
            }
            double RawBatch(int start)
            {
                // The device's own data buffer in guest memory, so both paths copy to and from the same pages.
                var span = harness.DataSpan(bytes);
                long t = Stopwatch.GetTimestamp();
                for (int i = 0; i < batch; i++)
                {
                    if (write)
                        RandomAccess.Write(file.Handle, span, Offset(start + i));
                    else
                        RandomAccess.Read(file.Handle, span, Offset(start + i));
                }
                return Stopwatch.GetElapsedTime(t).TotalMicroseconds / batch;
            }
            // Warm-up round, not counted.
            DeviceBatch(0);
            RawBatch(0);
            var device = new double[Rounds];
            var raw = new double[Rounds];
            var ratios = new double[Rounds];
            for (int round = 0; round < Rounds; round++)
            {
                int start = cursor;
                cursor += batch;
                if (round % 2 == 0)
                {
                    device[round] = DeviceBatch(start);
                    raw[round] = RawBatch(start);
                }
                else
                {
                    raw[round] = RawBatch(start);
                    device[round] = DeviceBatch(start);
                }
                ratios[round] = raw[round] / device[round];
            }
            yield return new Result(name, bytes, depth, Median(device), Median(raw), Median(ratios));
        }
    }

    private static double Median(double[] values)
    {
        var sorted = values.ToArray();
        Array.Sort(sorted);
        return sorted[sorted.Length / 2];
    }
}
