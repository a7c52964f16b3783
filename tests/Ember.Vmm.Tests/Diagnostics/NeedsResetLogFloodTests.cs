using System.Buffers.Binary;
using System.Diagnostics;
using Ember.Devices.Virtio.Transport;
using Ember.Kvm;
using Ember.TestGuests;
using Ember.Vmm.Diagnostics;
using Ember.Vmm.Machine;
using Ember.Vmm.Tests.Fakes;
using Ember.Vmm.Tests.Machine;
using Microsoft.Extensions.Logging;

namespace Ember.Vmm.Tests.Diagnostics;

/// <summary>
/// A driver that breaks the machine's virtio-rng over and over (a queue outside RAM, DRIVER_OK, reset, again),
/// written through the real virtio-pci registers of a real machine: each break is a DEVICE_NEEDS_RESET, and the
/// log gets a bounded number of lines for them, with the rest counted in summaries.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class NeedsResetLogFloodTests
{
    private const int Breaks = 500;

    private static void WriteCommon(VirtioPciFunction function, uint offset, int width, ulong value)
    {
        Span<byte> data = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(data, value);
        function.BarRegion(VirtioPciLayout.Bar)!.Write(VirtioPciLayout.CommonOffset + offset, data[..width]);
    }

    /// <summary>virtio 1.2 §3.1.1 up to DRIVER_OK, with queue 0's rings far outside guest RAM.</summary>
    private static void BreakOnce(VirtioPciFunction function)
    {
        const ulong outsideRam = 0xFF_0000_0000;
        WriteCommon(function, 0x14, 1, 0);           // reset
        WriteCommon(function, 0x14, 1, 1);           // ACKNOWLEDGE
        WriteCommon(function, 0x14, 1, 3);           // DRIVER
        WriteCommon(function, 0x08, 4, 1);           // driver features, high half
        WriteCommon(function, 0x0C, 4, 1);           // VERSION_1
        WriteCommon(function, 0x14, 1, 0xB);         // FEATURES_OK
        WriteCommon(function, 0x16, 2, 0);           // queue 0
        WriteCommon(function, 0x18, 2, 64);
        WriteCommon(function, 0x20, 8, outsideRam);
        WriteCommon(function, 0x28, 8, outsideRam + 0x1000);
        WriteCommon(function, 0x30, 8, outsideRam + 0x2000);
        WriteCommon(function, 0x1C, 2, 1);           // enable
        WriteCommon(function, 0x14, 1, 0xF);         // DRIVER_OK: the device finds the ring outside RAM
    }

    [Fact]
    public void RepeatedBreaksOfAVirtioDeviceGiveBoundedWarnings()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        string kernel = MultibootImage.WriteTemporary(a => GuestCode.Exit32(a, 0));
        var log = new RecordingLogger(LogLevel.Warning);
        var clock = Stopwatch.StartNew();
        try
        {
            var config = new MachineConfig { KernelPath = kernel, MemorySize = 32UL << 20, Console = ConsoleKind.None, EntropyDevice = true };
            using var vm = MicroVm.Create(config, new CapturedConsole(), log);
            var function = Assert.Single(vm.Virtio.Functions);
            for (int i = 0; i < Breaks; i++)
            {
                BreakOnce(function);
                Assert.True(function.Device.NeedsReset, $"break {i} did not set DEVICE_NEEDS_RESET");
            }
        }
        finally
        {
            File.Delete(kernel);
        }
        clock.Stop();

        var lines = log.Lines.Select(l => l.Text).ToList();
        var warnings = lines.Where(l => l.Contains("the device needs a reset", StringComparison.Ordinal)).ToList();
        var summaries = lines.Where(l => l.StartsWith("suppressed ", StringComparison.Ordinal) && l.EndsWith(": virtio devices needing a reset", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.StartsWith("virtio-rng: the driver broke a virtqueue (queue 0: DescriptorAreaOutsideRam)", warnings[0]);
        Assert.Equal(Breaks, warnings.Count + summaries.Sum());
        long windows = (long)clock.Elapsed.TotalSeconds + 1;
        Assert.True(warnings.Count <= LogRateLimit.DefaultLinesPerWindow * windows, $"{warnings.Count} warnings in {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(summaries.Count <= windows + 1, $"{summaries.Count} summaries in {clock.Elapsed.TotalSeconds:F1} s");
    }
}
