using System.Diagnostics;
using Ember.Devices.Virtio.Block;

namespace Ember.Bench.Block;

/// <summary>
/// Notify-to-completion of a single 4 KiB read at a random offset, one request in flight: the time from the
/// doorbell (<see cref="BlockQueueHarness.NotifyAndComplete"/>: the device pops the chain, parses it, preads,
/// copies, writes the status and the used element) until the driver sees the used index move and reads an OK
/// status. Beside it, a single raw pread of 4 KiB at the same offsets into the same guest-memory buffer. Percentiles over <see cref="Samples"/>
/// requests after a warm-up.
/// </summary>
public static class LatencyProbe
{
    public const int Samples = 100_000;
    private const int WarmUp = 10_000;

    /// <summary>Managed bytes the device path allocates per 4 KiB read (the harness's driver side allocates none).</summary>
    public static double AllocatedBytesPerRequest(IBlockBackend backend, long[] offsets)
    {
        var harness = new BlockQueueHarness(backend);
        for (int i = 0; i < 1000; i++)
            harness.Submit(write: false, offsets[i % offsets.Length], BlockPathBenchmarks.Small);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
            harness.Submit(write: false, offsets[i % offsets.Length], BlockPathBenchmarks.Small);
        return (GC.GetAllocatedBytesForCurrentThread() - before) / 10_000.0;
    }

    public static (double P50, double P99, double Mean) Device(IBlockBackend backend, long[] offsets)
    {
        var harness = new BlockQueueHarness(backend);
        return Measure(offsets, offset =>
        {
            harness.Post(write: false, offset, BlockPathBenchmarks.Small);
            long start = Stopwatch.GetTimestamp();
            harness.NotifyAndComplete();
            return Stopwatch.GetTimestamp() - start;
        });
    }

    /// <summary>
    /// Medians, in µs, of a single 4 KiB read's three parts through the device: notify until the backend is called (queue
    /// pop, chain walk, header parse, locating the buffer), the backend call (the pread), and from its return until the
    /// driver sees the completion (status, used ring, notification and interrupt decisions, lock release). Stamping
    /// costs a little on each side, so the parts add up to slightly more than the plain probe.
    /// </summary>
    public static (double Before, double Backend, double After) Breakdown(IBlockBackend backend, long[] offsets)
    {
        var timing = new TimingBlockBackend(backend);
        var harness = new BlockQueueHarness(timing);
        var before = new long[Samples];
        var call = new long[Samples];
        var after = new long[Samples];
        for (int i = 0; i < WarmUp + Samples; i++)
        {
            harness.Post(write: false, offsets[i % offsets.Length], BlockPathBenchmarks.Small);
            long start = Stopwatch.GetTimestamp();
            harness.NotifyAndComplete();
            long end = Stopwatch.GetTimestamp();
            if (i < WarmUp)
                continue;
            before[i - WarmUp] = timing.ReadStarted - start;
            call[i - WarmUp] = timing.ReadEnded - timing.ReadStarted;
            after[i - WarmUp] = end - timing.ReadEnded;
        }
        double toMicroseconds = 1e6 / Stopwatch.Frequency;
        static long Median(long[] values)
        {
            Array.Sort(values);
            return values[values.Length / 2];
        }
        return (Median(before) * toMicroseconds, Median(call) * toMicroseconds, Median(after) * toMicroseconds);
    }

    public static (double P50, double P99, double Mean) Raw(BenchDiskFile file, long[] offsets)
    {
        // Into the harness's guest-memory data buffer, the one the device reads into.
        var harness = new BlockQueueHarness(new FileBlockBackend(file.Handle, readOnly: false));
        return Measure(offsets, offset =>
        {
            var buffer = harness.DataSpan(BlockPathBenchmarks.Small);
            long start = Stopwatch.GetTimestamp();
            RandomAccess.Read(file.Handle, buffer, offset);
            return Stopwatch.GetTimestamp() - start;
        });
    }

    private static (double P50, double P99, double Mean) Measure(long[] offsets, Func<long, long> once)
    {
        for (int i = 0; i < WarmUp; i++)
            once(offsets[i % offsets.Length]);
        var ticks = new long[Samples];
        for (int i = 0; i < Samples; i++)
            ticks[i] = once(offsets[i % offsets.Length]);
        Array.Sort(ticks);
        double toMicroseconds = 1e6 / Stopwatch.Frequency;
        return (ticks[Samples / 2] * toMicroseconds, ticks[(int)(Samples * 0.99)] * toMicroseconds, ticks.Average() * toMicroseconds);
    }
}
