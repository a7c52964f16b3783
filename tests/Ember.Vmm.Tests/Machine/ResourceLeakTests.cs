using System.Globalization;
using Ember.Kvm;
using Ember.TestGuests;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Machine;

/// <summary>An embedding program that starts and disposes many machines keeps no descriptors, threads or memory of theirs.</summary>
[Trait("Requires", "kvm")]
[Collection(RunsAloneCollection.Name)]
public sealed class ResourceLeakTests
{
    private static readonly TimeSpan SafetyNet = TimeSpan.FromSeconds(120);

    private static MachineConfig Config(string kernel) => new()
    {
        KernelPath = kernel,
        MemorySize = 32UL << 20,
        DebugExit = true,
        Console = ConsoleKind.None,
    };

    [Fact]
    public async Task AHundredCreateStartDisposeCyclesLeaveNoDescriptorsThreadsOrMemoryBehind()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        string kernel = MultibootImage.WriteTemporary(a => GuestCode.Exit32(a, 0));
        try
        {
            async Task Cycle()
            {
                await using var vm = await MicroVm.StartAsync(Config(kernel), cancellationToken: TestContext.Current.CancellationToken);
                await vm.Exited.WaitAsync(SafetyNet, TestContext.Current.CancellationToken);
            }
            for (int i = 0; i < 10; i++)
                await Cycle();
            Settle();
            int fds = OpenDescriptors(), threads = Threads(), emberThreads = EmberThreads();
            long rss = ResidentBytes();
            for (int i = 0; i < 100; i++)
                await Cycle();
            // A disposed machine's threads have been told to end and have detached; the kernel may list one
            // for a moment longer. A leak never settles, so wait for the counts rather than read them once.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            do
                Settle();
            while ((EmberThreads() > emberThreads || OpenDescriptors() > fds) && DateTime.UtcNow < deadline && Sleep());

            Assert.True(EmberThreads() <= emberThreads, $"Ember's threads went from {emberThreads} to {EmberThreads()} over 100 machines");
            Assert.True(OpenDescriptors() <= fds + 2, $"open descriptors went from {fds} to {OpenDescriptors()} over 100 machines");
            // The runtime's thread pool may add a worker or two of its own while the awaits run.
            Assert.True(Threads() <= threads + 4, $"threads went from {threads} to {Threads()} over 100 machines");
            Assert.True(ResidentBytes() - rss < 64L << 20, $"resident memory grew by {(ResidentBytes() - rss) >> 20} MiB over 100 machines");
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    private static bool Sleep()
    {
        Thread.Sleep(100);
        return true;
    }

    private static int OpenDescriptors() => Directory.GetFiles("/proc/self/fd").Length;

    private static int Threads() => Directory.GetDirectories("/proc/self/task").Length;

    /// <summary>Threads the kernel still lists under an Ember name (<c>ember-vcpu-0</c>, ...), whether or not .NET has let go of them.</summary>
    private static int EmberThreads() => Directory.GetDirectories("/proc/self/task").Count(task =>
    {
        try
        {
            return File.ReadAllText(Path.Combine(task, "comm")).StartsWith("ember-", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false; // the thread ended while we looked
        }
    });

    private static long ResidentBytes() => long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
}
