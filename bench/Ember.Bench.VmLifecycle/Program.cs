using System.Diagnostics;
using Ember.Devices.Legacy;
using Ember.Vmm.Machine;

// VM lifecycle through the embeddable .NET API, in one process:
//  1. start-to-stop rate: create a MicroVm for the null guest, run it to its debug exit, dispose; repeat;
//  2. memory per idle VM: create K machines (booted, not running) and divide the RSS growth by K.
// Usage: Ember.Bench.VmLifecycle NULL_ELF [iterations] [idleCount] [irqchip]
if (args.Length < 1)
{
    Console.Error.WriteLine("usage: Ember.Bench.VmLifecycle NULL_ELF [iterations=50] [idle=20] [irqchip=split]");
    return 2;
}
string kernel = args[0];
int iterations = args.Length > 1 ? int.Parse(args[1]) : 50;
int idleCount = args.Length > 2 ? int.Parse(args[2]) : 20;
var irqchip = args.Length > 3 ? Enum.Parse<IrqchipMode>(args[3], ignoreCase: true) : IrqchipMode.Split;
var config = new MachineConfig { KernelPath = kernel, MemorySize = 64UL << 20, DebugExit = true, TestDevices = true, Console = ConsoleKind.None, Irqchip = irqchip };
var sink = new StreamSerialOutput(Stream.Null);

// Warm up (JIT, first-use statics), then time start → run → stop → dispose.
for (int i = 0; i < 3; i++)
{
    using var warm = MicroVm.Create(config, sink);
    warm.Run();
}
var perVm = new List<double>();
var total = Stopwatch.StartNew();
for (int i = 0; i < iterations; i++)
{
    long start = Stopwatch.GetTimestamp();
    using (var vm = MicroVm.Create(config, sink))
    {
        var exit = vm.Run();
        if (exit.Reason != MachineStopReason.DebugExit)
            throw new InvalidOperationException($"guest ended with {exit.Reason}: {exit.Message}");
    }
    perVm.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
}
total.Stop();
perVm.Sort();

static long RssKiB() => File.ReadLines("/proc/self/status").Where(l => l.StartsWith("VmRSS:")).Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1])).First();

GC.Collect();
long before = RssKiB();
var idle = new List<MicroVm>();
for (int i = 0; i < idleCount; i++)
    idle.Add(MicroVm.Create(config, sink));
long after = RssKiB();
foreach (var vm in idle)
    vm.Dispose();

Console.WriteLine($"irqchip={irqchip} iterations={iterations} vms_per_second={iterations / total.Elapsed.TotalSeconds:F1} " +
                  $"median_ms={perVm[perVm.Count / 2]:F2} p10_ms={perVm[perVm.Count / 10]:F2} p90_ms={perVm[perVm.Count * 9 / 10]:F2} " +
                  $"idle_vms={idleCount} rss_per_idle_vm_kib={(after - before) / (double)idleCount:F0}");
return 0;
