using System.Diagnostics;
using Ember.Devices.Legacy;
using Ember.Kvm;
using Ember.TestGuests;
using Ember.Vmm.Machine;
using Ember.Vmm.Tests.Machine;
using Iced.Intel;

namespace Ember.Vmm.Tests.Interrupts;

/// <summary>Boots an <see cref="InterruptGuest"/> program in a MicroVm with the chosen irqchip and reports what happened.</summary>
internal static class IrqchipGuestMachine
{
    private static readonly TimeSpan Watchdog = TimeSpan.FromSeconds(120);

    /// <summary>
    /// Runs <paramref name="guest"/> (main code, then its handlers; <see cref="InterruptGuest.Prologue"/> first)
    /// to its exit. <paramref name="whileRunning"/> runs on a host thread while the vCPUs do; <paramref name="inspect"/>
    /// sees the stopped machine (counters) before it is disposed.
    /// </summary>
    public static GuestOutcome Run(IrqchipMode mode, Action<Assembler> guest, Action<MicroVm>? whileRunning = null, Action<MicroVm>? inspect = null, Action<MicroVm>? beforeRun = null)
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        string kernel = MultibootImage.WriteTemporary(guest, "irq");
        try
        {
            var config = new MachineConfig
            {
                KernelPath = kernel,
                MemorySize = 32UL << 20,
                Irqchip = mode,
                DebugExit = true,
                TestDevices = true,
                Console = ConsoleKind.None,
            };
            using var vm = MicroVm.Create(config, new CapturedConsole());
            beforeRun?.Invoke(vm);
            using var watchdog = new Timer(_ => vm.RequestStop("test watchdog: the guest took too long"), null, Watchdog, Timeout.InfiniteTimeSpan);
            Exception? hostFailure = null;
            var host = whileRunning is null ? null : new Thread(() =>
            {
                try
                {
                    whileRunning(vm);
                }
                catch (Exception e)
                {
                    hostFailure = e;
                    vm.RequestStop("host side of the test failed");
                }
            }) { IsBackground = true, Name = "test-host" };
            host?.Start();
            var exit = vm.Run();
            host?.Join();
            if (hostFailure is not null)
                throw new InvalidOperationException("the host side of the test failed", hostFailure);
            inspect?.Invoke(vm);
            uint Read(uint address) => vm.Memory.ReadObject<uint>(new(address));
            uint ticks = unchecked(Read(InterruptGuest.EndTicks) - Read(InterruptGuest.StartTicks));
            var elapsed = TimeSpan.FromSeconds((double)ticks / AcpiPmTimer.FrequencyHz);
            string frame = $"0x{Read(InterruptGuest.UnexpectedFrame):x} 0x{Read(InterruptGuest.UnexpectedFrame + 4):x} 0x{Read(InterruptGuest.UnexpectedFrame + 8):x}";
            return new GuestOutcome(exit, Read(InterruptGuest.Counter), Read(InterruptGuest.UnexpectedCount), Read(InterruptGuest.NmiCount), elapsed, frame);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    /// <summary>Waits (host side) until the guest sets [<paramref name="word"/>] to a non-zero value.</summary>
    public static void WaitForGuestFlag(MicroVm vm, uint word)
    {
        var clock = Stopwatch.StartNew();
        while (vm.Memory.ReadObject<uint>(new(word)) == 0)
        {
            if (vm.StopRequested || clock.Elapsed > Watchdog)
                throw new TimeoutException($"the guest never set 0x{word:x}");
            Thread.Sleep(1);
        }
    }

    /// <summary>Logs a count and the guest-measured time (ACPI PM timer) as a rate, for the irqchip comparison.</summary>
    public static void Log(IrqchipMode mode, string what, uint count, TimeSpan elapsed)
    {
        double rate = elapsed > TimeSpan.Zero ? count / elapsed.TotalSeconds : 0;
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"[{mode}] {what}: {count} interrupts in {elapsed.TotalMilliseconds:F2} ms = {rate:F0}/s ({elapsed.TotalMicroseconds / Math.Max(1, count):F1} us each)");
    }
}
