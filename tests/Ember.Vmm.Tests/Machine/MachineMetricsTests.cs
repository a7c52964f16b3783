using System.Diagnostics.Metrics;
using System.Text.Json;
using Ember.Kvm;
using Ember.TestGuests;
using Ember.Vmm.Diagnostics;
using Ember.Vmm.Machine;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Vmm.Tests.Machine;

/// <summary>
/// A machine's counters through System.Diagnostics.Metrics (a MeterListener, as dotnet-counters or OpenTelemetry
/// would listen) and as a metrics line's JSON: a guest that makes a known number of port writes shows that
/// many I/O exits more than one that makes none, under its own machine name, and both views agree.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class MachineMetricsTests
{
    private const int Writes = 500;

    /// <summary>Writes <paramref name="count"/> bytes to the POST port (0x80), then exits through the debug port.</summary>
    private static void PortWriter(Assembler a, int count)
    {
        var loop = a.CreateLabel();
        var done = a.CreateLabel();
        a.mov(ecx, count);
        a.test(ecx, ecx);
        a.jz(done);
        a.Label(ref loop);
        a.mov(dx, 0x80);
        a.@out(dx, al);
        a.dec(ecx);
        a.jnz(loop);
        a.Label(ref done);
        GuestCode.Exit32(a, 0);
    }

    private static (long IoExits, double RunTime, long JsonIo) RunAndMeasure(int writes, string name)
    {
        string kernel = MultibootImage.WriteTemporary(a => PortWriter(a, writes), name);
        try
        {
            using var vm = MicroVm.Create(new MachineConfig
            {
                KernelPath = kernel,
                MemorySize = 32UL << 20,
                DebugExit = true,
                Console = ConsoleKind.None,
                Name = name,
            }, new CapturedConsole());
            vm.Run();

            long io = 0;
            double runTime = 0;
            using var listener = new MeterListener();
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == MachineMetrics.MeterName)
                    l.EnableMeasurementEvents(instrument);
            };
            listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                if (instrument.Name == "ember.vcpu.exits" && Tag(tags, "ember.vm") == name && Tag(tags, "reason") == "io")
                    io += value;
            });
            listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
            {
                if (instrument.Name == "ember.vcpu.run_time" && Tag(tags, "ember.vm") == name)
                    runTime += value;
            });
            listener.Start();
            listener.RecordObservableInstruments();

            using var buffer = new MemoryStream();
            using (var json = new Utf8JsonWriter(buffer))
            {
                json.WriteStartObject();
                vm.Metrics.WriteJson(json);
                json.WriteEndObject();
            }
            using var line = JsonDocument.Parse(buffer.ToArray());
            return (io, runTime, line.RootElement.GetProperty("vcpu").GetProperty("exits_io").GetInt64());
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    private static string? Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string key)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == key)
                return tag.Value?.ToString();
        }
        return null;
    }

    [Fact]
    public void ExitsByReasonAndVcpuTimeReachAMeterListenerAndTheJsonLine()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");

        var quiet = RunAndMeasure(0, "metrics-quiet");
        var busy = RunAndMeasure(Writes, "metrics-busy");

        // The firmware's port writes and the debug exit are the same in both; the loop's writes are the difference.
        Assert.Equal(Writes, busy.IoExits - quiet.IoExits);
        Assert.Equal(busy.IoExits, busy.JsonIo);
        Assert.Equal(quiet.IoExits, quiet.JsonIo);
        Assert.True(busy.RunTime > 0, "no vCPU run time was measured");
    }
}
