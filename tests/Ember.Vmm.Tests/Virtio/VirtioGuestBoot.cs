using System.Runtime.ExceptionServices;
using Ember.Kvm;
using Ember.TestGuests.Virtio;
using Ember.Vmm.Machine;
using Ember.Vmm.Tests.Machine;

namespace Ember.Vmm.Tests.Virtio;

/// <summary>
/// Boots a virtio test guest's multiboot image (<see cref="VirtioEntropyGuest"/>, <see cref="VirtioVsockGuest"/>) through
/// <see cref="MicroVm"/> on real KVM, with the debug-exit device and whatever devices the test adds, and reports how
/// it ended and what it printed. The test can play the host side while the guest runs:
/// <code>
/// var result = VirtioGuestBoot.Run(VirtioEntropyGuest.Build(program), IrqchipMode.Split, config => config with { EntropyDevice = true });
/// </code>
/// </summary>
public static class VirtioGuestBoot
{
    /// <summary>Only a safety net: a guest that stops answering fails its test instead of hanging it.</summary>
    public static readonly TimeSpan DefaultWatchdog = TimeSpan.FromMinutes(5);

    /// <param name="image">The guest's multiboot image.</param>
    /// <param name="irqchip">Any mode: without a LAPIC (user space) the devices interrupt through INTx.</param>
    /// <param name="withDevices">Adds the devices under test to the base configuration.</param>
    /// <param name="whileRunning">
    /// Runs on the test's thread once the vCPUs have started, with the machine and what the guest has printed so far;
    /// if it throws, the machine is stopped and the exception rethrown.
    /// </param>
    /// <param name="inspect">Sees the stopped machine before it is disposed (guest memory, devices).</param>
    /// <param name="beforeStart">Runs once the machine is built and before any vCPU runs (for host setup that needs the machine's backends open).</param>
    public static VirtioGuestBootResult Run(byte[] image, IrqchipMode irqchip, Func<MachineConfig, MachineConfig> withDevices,
        Action<MicroVm, Func<string>>? whileRunning = null, Action<MicroVm>? inspect = null, Action<MicroVm>? beforeStart = null, ulong memorySize = 64UL << 20, TimeSpan? watchdog = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(withDevices);
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        string kernel = Path.Combine(Path.GetTempPath(), $"ember-virtio-guest-{Environment.ProcessId}-{Guid.NewGuid():N}.elf");
        File.WriteAllBytes(kernel, image);
        try
        {
            var console = new CapturedConsole();
            var config = withDevices(new MachineConfig
            {
                KernelPath = kernel,
                MemorySize = memorySize,
                Irqchip = irqchip,
                DebugExit = true,
                Console = ConsoleKind.None,
            });
            Assert.Null(config.Validate());
            using var vm = MicroVm.Create(config, console);
            var limit = watchdog ?? DefaultWatchdog;
            using var timer = new Timer(_ => vm.RequestStop($"test watchdog: the guest took longer than {limit}"), null, limit, Timeout.InfiniteTimeSpan);
            beforeStart?.Invoke(vm);
            vm.Start();
            ExceptionDispatchInfo? hostFailure = null;
            try
            {
                whileRunning?.Invoke(vm, () => console.Text);
            }
            catch (Exception e)
            {
                hostFailure = ExceptionDispatchInfo.Capture(e);
                vm.RequestStop("the test's host side failed");
            }
            var exit = vm.WaitForExit();
            if (hostFailure is not null)
            {
                TestContext.Current.TestOutputHelper?.WriteLine($"guest console:\n{console.Text}");
                hostFailure.Throw();
            }
            inspect?.Invoke(vm);
            return new VirtioGuestBootResult(exit, console.Text);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    /// <summary>Waits, up to <paramref name="safetyNet"/>, until the guest's console holds <paramref name="text"/> (so the host acts only once the guest is ready).</summary>
    public static void WaitForConsole(Func<string> console, string text, TimeSpan safetyNet, MicroVm vm)
    {
        ArgumentNullException.ThrowIfNull(console);
        var deadline = DateTime.UtcNow + safetyNet;
        while (!console().Contains(text, StringComparison.Ordinal))
        {
            if (vm.Exited.IsCompleted)
                throw new InvalidOperationException($"the guest ended before it printed \"{text}\"");
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"the guest did not print \"{text}\" within {safetyNet}");
            Thread.Sleep(10);
        }
    }
}
