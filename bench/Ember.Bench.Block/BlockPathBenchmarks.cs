using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Ember.Devices.Virtio.Block;
using Ember.Memory;

namespace Ember.Bench.Block;

/// <summary>
/// The same I/O two ways on the same warm file: through virtio-blk's request queue (driver writes a chain, notify,
/// device parses it, FileBlockBackend does the pread/pwrite, used ring updated: all on this thread, one request in
/// flight) and as plain RandomAccess.Read/Write (pread/pwrite) into the same guest-memory buffer, the limit. Each
/// category's raw method is its baseline, so Ratio is device time over raw time (1/Ratio is the throughput ratio).
/// Random offsets are 4 KiB-aligned, from one fixed seed, the same sequence for both paths; sequential 1 MiB
/// transfers walk the file and wrap.
/// </summary>
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class BlockPathBenchmarks
{
    /// <summary>Requests per benchmark invocation, so one measured op is one request.</summary>
    public const int RandomBatch = 256;
    public const int SequentialBatch = 16;
    public const int Small = 4096;
    public const int Large = 1 << 20;

    private static readonly Lazy<BenchDiskFile> SharedFile = new(() => new BenchDiskFile());

    private BlockQueueHarness _device = null!;
    private long[] _randomOffsets = null!;
    private int _nextRandom;
    private long _nextSequential;

    /// <summary>The one disk file, created on first use (Program deletes it at the end).</summary>
    public static BenchDiskFile File => SharedFile.Value;

    [GlobalSetup]
    public void Setup()
    {
        var file = File;
        _device = new BlockQueueHarness(new FileBlockBackend(file.Handle, readOnly: false));
        var random = new Random(11);
        _randomOffsets = new long[1 << 16];
        for (int i = 0; i < _randomOffsets.Length; i++)
            _randomOffsets[i] = random.NextInt64(BenchDiskFile.Length / Small) * Small;
    }

    private long NextRandom() => _randomOffsets[_nextRandom++ & (_randomOffsets.Length - 1)];

    private long NextSequential()
    {
        long offset = _nextSequential;
        _nextSequential = (offset + Large) % BenchDiskFile.Length;
        return offset;
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = RandomBatch), BenchmarkCategory("4 KiB random read")]
    public void RawRandomRead()
    {
        var buffer = _device.DataSpan(Small);
        for (int i = 0; i < RandomBatch; i++)
            RandomAccess.Read(File.Handle, buffer, NextRandom());
    }

    [Benchmark(OperationsPerInvoke = RandomBatch), BenchmarkCategory("4 KiB random read")]
    public void DeviceRandomRead()
    {
        for (int i = 0; i < RandomBatch; i++)
            _device.Submit(write: false, NextRandom(), Small);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = RandomBatch), BenchmarkCategory("4 KiB random write")]
    public void RawRandomWrite()
    {
        var buffer = _device.DataSpan(Small);
        for (int i = 0; i < RandomBatch; i++)
            RandomAccess.Write(File.Handle, buffer, NextRandom());
    }

    [Benchmark(OperationsPerInvoke = RandomBatch), BenchmarkCategory("4 KiB random write")]
    public void DeviceRandomWrite()
    {
        for (int i = 0; i < RandomBatch; i++)
            _device.Submit(write: true, NextRandom(), Small);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = SequentialBatch), BenchmarkCategory("1 MiB sequential read")]
    public void RawSequentialRead()
    {
        var buffer = _device.DataSpan(Large);
        for (int i = 0; i < SequentialBatch; i++)
            RandomAccess.Read(File.Handle, buffer, NextSequential());
    }

    [Benchmark(OperationsPerInvoke = SequentialBatch), BenchmarkCategory("1 MiB sequential read")]
    public void DeviceSequentialRead()
    {
        for (int i = 0; i < SequentialBatch; i++)
            _device.Submit(write: false, NextSequential(), Large);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = SequentialBatch), BenchmarkCategory("1 MiB sequential write")]
    public void RawSequentialWrite()
    {
        var buffer = _device.DataSpan(Large);
        for (int i = 0; i < SequentialBatch; i++)
            RandomAccess.Write(File.Handle, buffer, NextSequential());
    }

    [Benchmark(OperationsPerInvoke = SequentialBatch), BenchmarkCategory("1 MiB sequential write")]
    public void DeviceSequentialWrite()
    {
        for (int i = 0; i < SequentialBatch; i++)
            _device.Submit(write: true, NextSequential(), Large);
    }
}
