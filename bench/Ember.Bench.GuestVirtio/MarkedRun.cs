using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Ember.Devices.Legacy;
using Ember.Vmm.Machine;

namespace Ember.Bench.GuestVirtio;

/// <summary>
/// Boots one assembled test guest on the real /dev/kvm with the boot timer on and records a <see cref="PhaseMark"/> at
/// every write of its magic byte. The counters are read through <see cref="MicroVm.Metrics"/> (the same numbers as the
/// metrics line's <c>vcpu</c> object), as raw JSON inside the exit and parsed once the machine has stopped.
/// </summary>
internal static class MarkedRun
{
    /// <summary>Only a safety net: a guest that stops answering ends the run with a message instead of hanging it.</summary>
    public static readonly TimeSpan Watchdog = TimeSpan.FromMinutes(10);

    /// <param name="image">The guest's multiboot image.</param>
    /// <param name="config">The machine, without its kernel path (written here) and boot timer (turned on here).</param>
    /// <param name="beforeStart">Runs once the machine is built and before the vCPU runs (moving a TAP the machine has opened).</param>
    public static (MachineExit Exit, string Console, IReadOnlyList<PhaseMark> Marks) Run(byte[] image, MachineConfig config, Action<MicroVm>? beforeStart = null)
    {
        string kernel = Path.Combine(Path.GetTempPath(), $"ember-bench-guest-{Environment.ProcessId}-{Guid.NewGuid():N}.elf");
        File.WriteAllBytes(kernel, image);
        try
        {
            var console = new MemoryStream();
            var raw = new List<(long Before, long After, byte[] Json)>();
            using var vm = MicroVm.Create(config with { KernelPath = kernel, BootTimer = true, DebugExit = true, Console = ConsoleKind.None },
                new StreamSerialOutput(console));
            vm.BootTimeReported += _ =>
            {
                long before = Stopwatch.GetTimestamp();
                byte[] json = Snapshot(vm);
                raw.Add((before, Stopwatch.GetTimestamp(), json));
            };
            using var timer = new Timer(_ => vm.RequestStop($"bench watchdog: the guest took longer than {Watchdog}"), null, Watchdog, Timeout.InfiniteTimeSpan);
            beforeStart?.Invoke(vm);
            var exit = vm.Run();
            // A loop's first mark (even index) starts the clock after the counters were read, its last stops it before.
            var marks = raw.Select((r, i) => Parse(i % 2 == 0 ? r.After : r.Before, r.Json)).ToList();
            return (exit, Encoding.ASCII.GetString(console.ToArray()), marks);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    private static byte[] Snapshot(MicroVm vm)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            vm.Metrics.WriteJson(json);
            json.WriteNumber("notify_exits", vm.Virtio.Functions.Sum(f => f.NotifyRegionWrites));
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static PhaseMark Parse(long timestamp, byte[] json)
    {
        using var document = JsonDocument.Parse(json);
        var vcpu = document.RootElement.GetProperty("vcpu");
        var exits = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var property in vcpu.EnumerateObject())
        {
            if (property.Name.StartsWith("exits_", StringComparison.Ordinal))
                exits[property.Name["exits_".Length..]] = property.Value.GetInt64();
        }
        return new PhaseMark(timestamp, exits, document.RootElement.GetProperty("notify_exits").GetInt64(), vcpu.GetProperty("run_time_us").GetInt64());
    }
}
