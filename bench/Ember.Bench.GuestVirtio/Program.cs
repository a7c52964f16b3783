using Ember.Bench.GuestVirtio;
using Ember.Kvm;
using Ember.Vmm.Machine;

// virtio-blk requests/s and virtio-net echo round trips/s from Ember's assembled test guests, in each irqchip mode,
// with the vCPU exits to user space per request by reason. The guest marks each measured loop on the boot timer;
// see bench/README.md ("Guest-driven virtio") and BENCHMARKS.md.
var options = BenchOptions.Parse(args, out string? error);
if (options is null)
{
    Console.Error.WriteLine($"Ember.Bench.GuestVirtio: {error}");
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}
if (!KvmSystem.IsAvailable())
{
    Console.Error.WriteLine("Ember.Bench.GuestVirtio: /dev/kvm is not available (on a host without it: bench/guest-virtio.sh runs this in scripts/nested-kvm.sh)");
    return 2;
}
bool net = options.Net;
if (net && NetWorkload.MissingPrerequisite() is { } missing)
{
    if (!options.Block)
    {
        Console.Error.WriteLine($"Ember.Bench.GuestVirtio: {missing}");
        return 2;
    }
    Console.Error.WriteLine($"Ember.Bench.GuestVirtio: net skipped: {missing}");
    net = false;
}

string directory = Directory.CreateTempSubdirectory("ember-bench-guest-virtio-").FullName;
try
{
    string disk = BlockWorkload.CreateDisk(directory);
    string loadBefore = File.ReadAllText("/proc/loadavg").Trim();
    Console.WriteLine($"# Ember.Bench.GuestVirtio commit={options.Commit ?? "?"} kernel={Environment.OSVersion.Version} cpus={Environment.ProcessorCount} " +
                      $"nested={Environment.GetEnvironmentVariable("EMBER_NESTED_KVM") == "1"} loadavg-before=\"{loadBefore}\" started={DateTime.UtcNow:u}");

    // A warm-up run of each workload first (JIT, first-use statics, the page cache), not reported.
    if (options.Block)
        BlockWorkload.Run(IrqchipMode.Split, [50, 50, 20, 20], disk);
    if (net)
        NetWorkload.Run(IrqchipMode.Split, 20);

    // Counts: given, or sized from a short calibration run (split mode) so that each loop lasts about --seconds.
    uint[] blockCounts = [0, 0, 0, 0];
    uint netCount = 0;
    if (options.Block)
    {
        uint[] probe = [400, 400, 200, 200];
        var calibration = options.BlockCount is null || options.Block64Count is null ? BlockWorkload.Run(IrqchipMode.Split, probe, disk) : null;
        for (int i = 0; i < 4; i++)
        {
            uint? given = i < 2 ? options.BlockCount : options.Block64Count;
            blockCounts[i] = given ?? Sized(calibration![i], options.Seconds);
        }
        Console.WriteLine($"# blk requests per loop: {string.Join(", ", BlockWorkload.Names.Select((n, i) => $"{n} {blockCounts[i]}"))}");
    }
    if (net)
    {
        netCount = options.NetCount ?? Sized(NetWorkload.Run(IrqchipMode.Split, 100), options.Seconds);
        Console.WriteLine($"# net echo round trips per loop: {netCount}");
    }

    // Rounds, each mode once per round, the order rotated so that no mode always runs first or last.
    var results = new List<PhaseResult>();
    for (int round = 0; round < options.Rounds; round++)
    {
        for (int k = 0; k < options.Modes.Count; k++)
        {
            var mode = options.Modes[(k + round) % options.Modes.Count];
            var runs = new List<PhaseResult>();
            if (options.Block)
                runs.AddRange(BlockWorkload.Run(mode, blockCounts, disk));
            if (net)
                runs.Add(NetWorkload.Run(mode, netCount));
            foreach (var run in runs)
                Console.WriteLine(BenchReport.RawLine(round, run));
            results.AddRange(runs);
        }
    }
    Console.WriteLine($"# loadavg-after=\"{File.ReadAllText("/proc/loadavg").Trim()}\" finished={DateTime.UtcNow:u}");
    Console.WriteLine();
    Console.WriteLine(BenchReport.Summary(results, options.Modes));
    Console.WriteLine();
    Console.WriteLine(BenchReport.Detail(results, options.Modes));
    return 0;
}
catch (BenchFailure failure)
{
    Console.Error.WriteLine($"Ember.Bench.GuestVirtio: {failure.Message}");
    return 1;
}
finally
{
    Directory.Delete(directory, recursive: true);
}

// Operations for a loop of about `seconds`, from a calibration loop's rate; at least 100.
static uint Sized(PhaseResult calibration, double seconds) =>
    (uint)Math.Clamp(Math.Ceiling(calibration.PerSecond * seconds), 100, 10_000_000);
