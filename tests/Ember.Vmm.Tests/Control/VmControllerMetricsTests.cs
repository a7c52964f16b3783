using System.Text.Json;
using Ember.Kvm;
using Ember.TestGuests;
using Ember.Vmm.Control;
using Ember.Vmm.Machine;
using Ember.Vmm.Tests.Machine;

namespace Ember.Vmm.Tests.Control;

/// <summary>Metrics lines written by the controller on its own, at the interval, without FlushMetrics; each a JSON object.</summary>
[Trait("Requires", "kvm")]
public sealed class VmControllerMetricsTests : IDisposable
{
    private static readonly TimeSpan SafetyNet = TimeSpan.FromSeconds(60);
    private readonly string _directory = Directory.CreateTempSubdirectory("ember-metrics-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task MetricsLinesAreWrittenPeriodicallyOnceAFileIsSet()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        string kernel = MultibootImage.WriteTemporary(a =>
        {
            var spin = a.CreateLabel();
            a.Label(ref spin);
            a.pause();
            a.jmp(spin);
        }, "spin");
        string metrics = Path.Combine(_directory, "metrics.json");
        string disk = Path.Combine(_directory, "disk.img");
        File.WriteAllBytes(disk, new byte[4096]);
        using var controller = new VmController(new VmControllerOptions
        {
            InstanceId = "periodic",
            MetricsInterval = TimeSpan.FromMilliseconds(100),
            OpenConsole = _ => new CapturedConsole(),
            AdjustMachine = config => config with { Console = ConsoleKind.None, MemorySize = 32UL << 20 },
        });
        try
        {
            await controller.SetBootSource(new BootSourceConfig(kernel, null, null));
            await controller.PutDrive(new DriveResource { DriveId = "scratch", PathOnHost = disk });
            await controller.SetMetrics(new MetricsResource(metrics));
            await controller.Start();

            var deadline = DateTime.UtcNow + SafetyNet;
            while (Lines(metrics).Length < 3 || !Lines(metrics)[^1].Contains("\"vcpu\"", StringComparison.Ordinal))
            {
                Assert.True(DateTime.UtcNow < deadline, $"{Lines(metrics).Length} metrics lines after {SafetyNet.TotalSeconds} s at a 100 ms interval");
                await Task.Delay(20, TestContext.Current.CancellationToken);
            }
            var lines = Lines(metrics);
            long previousFlushes = 0;
            foreach (string line in lines)
            {
                using var json = JsonDocument.Parse(line);
                long flushes = json.RootElement.GetProperty("api_server").GetProperty("metrics_flushes").GetInt64();
                Assert.True(flushes > previousFlushes, $"metrics_flushes went from {previousFlushes} to {flushes}");
                previousFlushes = flushes;
            }
            // Once the machine runs, a line has its counters: the spinning guest exits for nothing and writes nothing.
            using var last = JsonDocument.Parse(lines[^1]);
            Assert.Equal("Running", last.RootElement.GetProperty("state").GetString());
            Assert.Equal(0, last.RootElement.GetProperty("block").GetProperty("scratch").GetProperty("write_bytes").GetInt64());
            Assert.True(last.RootElement.GetProperty("vcpu").GetProperty("exits_io").GetInt64() > 0, "the firmware's port writes are missing");
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    private static string[] Lines(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            // Only whole lines: the writer may be in the middle of one.
            string text = reader.ReadToEnd();
            int end = text.LastIndexOf('\n');
            return end < 0 ? [] : text[..end].Split('\n');
        }
        catch (FileNotFoundException)
        {
            return [];
        }
    }
}
