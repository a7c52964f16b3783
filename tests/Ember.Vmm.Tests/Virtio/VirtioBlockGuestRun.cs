using System.Diagnostics;
using Ember.Kvm;
using Ember.TestGuests.Virtio;
using Ember.Vmm.Machine;
using Ember.Vmm.Tests.Machine;

namespace Ember.Vmm.Tests.Virtio;

/// <summary>
/// Boots <see cref="VirtioBlockGuest"/> through <see cref="MicroVm"/> with the given disks and reports what
/// happened: the guest's outcome and report, the time the run and its request phase took (the guest marks the
/// phase's start on Ember's boot timer), and what the virtio transport counted. For any test that needs a real
/// driver on Ember's virtio-blk over real KVM:
/// <code>
/// var result = VirtioBlockGuestRun.Run(new VirtioBlockGuestProgram { Steps = [VirtioBlockStep.Read(0, 65536, count: 256)] },
///                                      [new DriveConfig("disk0", imagePath)]);
/// result.AssertSucceeded();
/// </code>
/// </summary>
public static class VirtioBlockGuestRun
{
    /// <summary>Only a safety net: a guest that stops answering fails its test instead of hanging it.</summary>
    public static readonly TimeSpan DefaultWatchdog = TimeSpan.FromMinutes(5);

    /// <param name="program">What the guest does; its <see cref="VirtioBlockGuestProgram.RequestPhaseMarker"/> is set to the boot timer.</param>
    /// <param name="drives">The machine's disks; the guest drives the <see cref="VirtioBlockGuestProgram.DeviceIndex"/>-th.</param>
    /// <param name="irqchip">Any mode: without a LAPIC (user space) the device interrupts through INTx.</param>
    /// <param name="inspect">Sees the stopped machine before it is disposed (guest memory, devices).</param>
    /// <param name="configure">Changes the machine's configuration (vCPUs, doorbell kind) before it is built.</param>
    public static VirtioBlockGuestResult Run(VirtioBlockGuestProgram program, IReadOnlyList<DriveConfig> drives,
        IrqchipMode irqchip = IrqchipMode.Split, ulong memorySize = 64UL << 20, TimeSpan? watchdog = null, Action<MicroVm>? inspect = null,
        Func<MachineConfig, MachineConfig>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(drives);
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        string kernel = VirtioBlockGuest.WriteTemporary(program with { RequestPhaseMarker = (uint)Layout.BootTimer });
        try
        {
            var console = new CapturedConsole();
            var config = new MachineConfig
            {
                KernelPath = kernel,
                MemorySize = Math.Max(memorySize, VirtioBlockGuestLayout.MinimumMemory),
                Irqchip = irqchip,
                DebugExit = true,
                BootTimer = true,
                Console = ConsoleKind.None,
                Drives = drives,
            };
            if (configure is not null)
                config = configure(config);
            long start = Stopwatch.GetTimestamp();
            TimeSpan? marked = null;
            int marks = 0;
            using var vm = MicroVm.Create(config, console, startTimestamp: start);
            vm.BootTimeReported += elapsed =>
            {
                marked ??= elapsed;
                marks++;
            };
            var limit = watchdog ?? DefaultWatchdog;
            using var timer = new Timer(_ => vm.RequestStop($"test watchdog: the virtio-blk guest took longer than {limit}"), null, limit, Timeout.InfiniteTimeSpan);
            var exit = vm.Run();
            var elapsed = Stopwatch.GetElapsedTime(start);
            inspect?.Invoke(vm);
            var functions = vm.Virtio.Functions;
            return new VirtioBlockGuestResult(
                exit,
                VirtioBlockGuestReport.Parse(console.Text),
                console.Text,
                elapsed,
                elapsed - marked,
                [.. functions.Select(f => f.NotifyRegionWrites)],
                [.. functions.Select(f => f.AttachedDoorbells)],
                vm.MmioExits,
                marks);
        }
        finally
        {
            File.Delete(kernel);
        }
    }
}
