// virtio-blk's device path against plain pread/pwrite on the same warm file (issue 10 §6), in one process:
//   dotnet run -c Release --project bench/Ember.Bench.Block            (BenchmarkDotNet run, then the latency probe)
//   dotnet run -c Release --project bench/Ember.Bench.Block -- --latency-only
//   dotnet run -c Release --project bench/Ember.Bench.Block -- --spin 10 [DISK_KIB]   (device over an in-memory disk only, for perf)
// The file is 256 MiB in the temp directory (TMPDIR), which must not be tmpfs: the point is a real file system's page cache.
using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Ember.Bench.Block;
using Ember.Devices.Virtio.Block;

if (args is ["--spin", var seconds, ..] && args.Length <= 3)
{
    // For a profiler (DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 perf record -g): 4 KiB reads through the
    // device over an in-memory disk, nothing else. The disk is 64 MiB unless a size in KiB follows: one that fits the
    // caches (1024, say) leaves the device's own bookkeeping, not DRAM misses of the copy, as what the profile shows.
    int diskBytes = args.Length == 3 ? int.Parse(args[2], CultureInfo.InvariantCulture) << 10 : 64 << 20;
    var spin = new BlockQueueHarness(new MemoryBlockBackend(diskBytes));
    var started = DateTime.UtcNow;
    var until = started.AddSeconds(double.Parse(seconds, CultureInfo.InvariantCulture));
    long n = 0;
    while (DateTime.UtcNow < until)
    {
        for (int i = 0; i < 10_000; i++, n++)
            spin.Submit(write: false, (n * 4096 * 7919) % diskBytes, BlockPathBenchmarks.Small);
    }
    double elapsed = (DateTime.UtcNow - started).TotalSeconds;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{n} requests, {elapsed * 1e9 / n:F0} ns each (driver and device)"));
    return 0;
}

string fileSystem = new DriveInfo(Path.GetTempPath()).DriveFormat;
if (fileSystem is "tmpfs" or "ramfs")
{
    Console.Error.WriteLine($"the temp directory {Path.GetTempPath()} is {fileSystem}; set TMPDIR to a directory on a real file system");
    return 2;
}
Console.WriteLine($"disk file: {BenchDiskFile.Length >> 20} MiB in {Path.GetTempPath()} ({fileSystem}), page cache warm");

if (!args.Contains("--latency-only"))
{
    // In-process, so device and raw runs share one process, one file handle and one page-cache state; short iterations
    // because the host is a shared 2-core machine.
    var job = Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(3).WithIterationCount(10);
    var config = ManualConfig.Create(DefaultConfig.Instance)
        .AddJob(job)
        .AddColumn(new ThroughputColumn(megabytes: false), new ThroughputColumn(megabytes: true))
        .HideColumns(Column.Error, Column.StdDev, Column.RatioSD, Column.Job, Column.Toolchain, Column.WarmupCount, Column.IterationCount)
        .WithOptions(ConfigOptions.DisableLogFile);
    BenchmarkRunner.Run<BlockPathBenchmarks>(config, args.Where(a => a != "--latency-only").ToArray());
}

var random = new Random(13);
var offsets = new long[1 << 16];
for (int i = 0; i < offsets.Length; i++)
    offsets[i] = random.NextInt64(BenchDiskFile.Length / BlockPathBenchmarks.Small) * BlockPathBenchmarks.Small;
var fileBackend = new FileBlockBackend(BlockPathBenchmarks.File.Handle, readOnly: false);
var device = LatencyProbe.Device(fileBackend, offsets);
var raw = LatencyProbe.Raw(BlockPathBenchmarks.File, offsets);
var memoryOnly = LatencyProbe.Device(new MemoryBlockBackend((int)BenchDiskFile.Length), offsets);
double allocated = LatencyProbe.AllocatedBytesPerRequest(fileBackend, offsets);
var parts = LatencyProbe.Breakdown(fileBackend, offsets);
var memoryParts = LatencyProbe.Breakdown(new MemoryBlockBackend((int)BenchDiskFile.Length), offsets);
Console.WriteLine();
Console.WriteLine($"single 4 KiB random read, {LatencyProbe.Samples} samples, µs:");
Console.WriteLine("| path | p50 | p99 | mean |");
Console.WriteLine("| --- | --- | --- | --- |");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| device, notify to used ring + status | {device.P50:F2} | {device.P99:F2} | {device.Mean:F2} |"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| raw pread | {raw.P50:F2} | {raw.P99:F2} | {raw.Mean:F2} |"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| device over an in-memory backend (its own work, no system call) | {memoryOnly.P50:F2} | {memoryOnly.P99:F2} | {memoryOnly.Mean:F2} |"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"device request in parts (medians, µs): notify to pread {parts.Before:F2}, pread {parts.Backend:F2}, pread to completion seen {parts.After:F2}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"the same over the in-memory backend (no system call between requests): {memoryParts.Before:F2}, copy {memoryParts.Backend:F2}, {memoryParts.After:F2}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"managed allocation per device request: {allocated:F0} bytes"));

Console.WriteLine();
Console.WriteLine($"interleaved device/raw rounds ({InterleavedComparison.Rounds} rounds, medians; ratio = raw time / device time per round = device throughput / raw):");
Console.WriteLine("| workload | device µs/req | device req/s | device MB/s | raw µs/req | raw MB/s | throughput ratio | target |");
Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
foreach (var r in InterleavedComparison.Run(BlockPathBenchmarks.File))
{
    double target = r.Bytes == BlockPathBenchmarks.Large ? 0.9 : 0.8;
    string verdict = r.MedianThroughputRatio >= target ? "met" : "missed";
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {r.Workload} | {r.DeviceMicroseconds:F2} | {1e6 / r.DeviceMicroseconds:N0} | {r.Bytes / r.DeviceMicroseconds:N0} | {r.RawMicroseconds:F2} | {r.Bytes / r.RawMicroseconds:N0} | {r.MedianThroughputRatio:F2} | ≥ {target:F1} {verdict} |"));
}
BlockPathBenchmarks.File.Dispose();
return 0;
