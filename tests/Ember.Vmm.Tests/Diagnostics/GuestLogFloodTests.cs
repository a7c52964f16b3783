using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Ember.Kvm;
using Ember.TestGuests;
using Ember.Vmm.Diagnostics;
using Ember.Vmm.Machine;
using Ember.Vmm.Tests.Fakes;
using Ember.Vmm.Tests.Machine;
using Microsoft.Extensions.Logging;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Vmm.Tests.Diagnostics;

/// <summary>
/// A guest that writes 20,000 times to a port where no device is, with the log at Debug: the log gets a bounded
/// number of lines for the time the flood took, and every access is either a line or counted in a summary.
/// </summary>
[Trait("Requires", "kvm")]
public sealed partial class GuestLogFloodTests
{
    private const int Accesses = 20_000;

    [GeneratedRegex("^suppressed (\\d+) similar lines: guest accesses where no device is$")]
    private static partial Regex Summary();

    [Fact]
    public void AFloodOfUnclaimedAccessesGivesABoundedNumberOfLinesAndASummary()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        string kernel = MultibootImage.WriteTemporary(a =>
        {
            var loop = a.CreateLabel();
            a.mov(ecx, Accesses);
            a.mov(dx, 0x2F0);                 // COM2's place: nothing there in Ember
            a.Label(ref loop);
            a.@out(dx, al);
            a.dec(ecx);
            a.jnz(loop);
            GuestCode.Exit32(a, 0);
        });
        var log = new RecordingLogger(LogLevel.Debug);
        long unclaimed;
        var clock = Stopwatch.StartNew();
        try
        {
            var config = new MachineConfig { KernelPath = kernel, MemorySize = 32UL << 20, DebugExit = true, Console = ConsoleKind.None };
            using (var vm = MicroVm.Create(config, new CapturedConsole(), log))
            {
                Assert.Equal(MachineStopReason.DebugExit, vm.Run().Reason);
                unclaimed = vm.UnclaimedAccesses;
            }
        }
        finally
        {
            File.Delete(kernel);
        }
        clock.Stop();

        var lines = log.Lines.Select(l => l.Text).ToList();
        var accessLines = lines.Where(l => l.EndsWith(": no device there", StringComparison.Ordinal)).ToList();
        var summaries = lines.Select(l => Summary().Match(l)).Where(m => m.Success).Select(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        Assert.True(unclaimed >= Accesses, $"only {unclaimed} unclaimed accesses");
        Assert.Contains("guest write of 1 bytes at port 0x2f0: no device there", accessLines);
        // Nothing is lost: each access is a line or counted in a summary (the last one written at disposal).
        Assert.Equal(unclaimed, accessLines.Count + summaries.Sum());
        Assert.NotEmpty(summaries);
        // At most the budget per started second of the run, and a summary per window after the first, plus the last.
        long windows = (long)clock.Elapsed.TotalSeconds + 1;
        Assert.True(accessLines.Count <= LogRateLimit.DefaultLinesPerWindow * windows, $"{accessLines.Count} lines in {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(summaries.Count <= windows + 1, $"{summaries.Count} summaries in {clock.Elapsed.TotalSeconds:F1} s");
    }
}
