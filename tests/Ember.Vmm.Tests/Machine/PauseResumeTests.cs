using Ember.Kvm;
using Ember.TestGuests;
using Ember.Vmm.Machine;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Vmm.Tests.Machine;

/// <summary>The lifecycle on the real /dev/kvm: a guest that counts stops counting while paused and goes on after the resume.</summary>
[Trait("Requires", "kvm")]
public sealed class PauseResumeTests
{
    private const uint Counter = 0x5000;
    private const uint ExitFlag = 0x5004;
    private static readonly TimeSpan SafetyNet = TimeSpan.FromSeconds(120);

    /// <summary>Counts at <see cref="Counter"/> until the host sets <see cref="ExitFlag"/>, then exits with 0x2a.</summary>
    private static void CountingGuest(Assembler a)
    {
        var loop = a.CreateLabel();
        a.Label(ref loop);
        a.inc(__dword_ptr[Counter]);
        a.cmp(__dword_ptr[ExitFlag], 0);
        a.je(loop);
        GuestCode.Exit32(a, 0x2a);
    }

    private static MicroVm Create(IrqchipMode irqchip, out string kernel)
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        kernel = MultibootImage.WriteTemporary(CountingGuest);
        return MicroVm.Create(new MachineConfig
        {
            KernelPath = kernel,
            MemorySize = 64UL << 20,
            DebugExit = true,
            Irqchip = irqchip,
            Console = ConsoleKind.None,
        }, new CapturedConsole());
    }

    private static uint Count(MicroVm vm) => vm.Memory.ReadObject<uint>(new(Counter));

    private static void WaitForCountAbove(MicroVm vm, uint floor)
    {
        var deadline = DateTime.UtcNow + SafetyNet;
        while (Count(vm) <= floor)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the guest's counter stayed at {Count(vm)} (waiting for more than {floor}) for {SafetyNet.TotalSeconds} s");
            Thread.Sleep(5);
        }
    }

    [Theory]
    [InlineData(IrqchipMode.Split)]
    [InlineData(IrqchipMode.Kernel)]
    [InlineData(IrqchipMode.Userspace)]
    public async Task APausedGuestStopsCountingAndContinuesExactlyAfterTheResume(IrqchipMode irqchip)
    {
        using var vm = Create(irqchip, out string kernel);
        try
        {
            Assert.Equal(VmState.NotStarted, vm.State);
            vm.Start();
            Assert.Equal(VmState.Running, vm.State);
            WaitForCountAbove(vm, 0);

            vm.Pause();
            Assert.Equal(VmState.Paused, vm.State);
            uint atPause = Count(vm);
            Thread.Sleep(200);
            Assert.Equal(atPause, Count(vm));
            Assert.False(vm.Exited.IsCompleted);

            vm.Resume();
            Assert.Equal(VmState.Running, vm.State);
            WaitForCountAbove(vm, atPause);

            // A second round trip: pause and resume are repeatable.
            vm.Pause();
            uint atSecondPause = Count(vm);
            Assert.True(atSecondPause > atPause);
            vm.Resume();
            WaitForCountAbove(vm, atSecondPause);

            vm.Memory.WriteObject(new(ExitFlag), 1u);
            var exit = await vm.Exited.WaitAsync(SafetyNet, TestContext.Current.CancellationToken);
            Assert.Equal(MachineStopReason.DebugExit, exit.Reason);
            Assert.Equal((0x2a << 1) | 1, exit.ExitCode);
            Assert.Equal(VmState.Stopped, vm.State);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    public async Task CommandsTheStateDoesNotAllowAreRefusedWithTheState()
    {
        using var vm = Create(IrqchipMode.Split, out string kernel);
        try
        {
            Assert.Equal(VmState.NotStarted, Assert.Throws<VmStateException>(vm.Pause).State);
            Assert.Equal(VmState.NotStarted, Assert.Throws<VmStateException>(vm.Resume).State);
            vm.Start();
            var running = Assert.Throws<VmStateException>(vm.Resume);
            Assert.Equal(VmState.Running, running.State);
            Assert.Equal("cannot resume the machine: it is running", running.Message);
            Assert.Equal(VmState.Running, Assert.Throws<VmStateException>(vm.Start).State);
            vm.Pause();
            Assert.Equal("cannot pause the machine: it is already paused", Assert.Throws<VmStateException>(vm.Pause).Message);

            // A host stop while paused ends the machine; the parked vCPU leaves.
            vm.RequestStop("test: stop while paused");
            var exit = await vm.Exited.WaitAsync(SafetyNet, TestContext.Current.CancellationToken);
            Assert.Equal(MachineStopReason.HostRequest, exit.Reason);
            Assert.Equal(VmState.Stopped, vm.State);
            Assert.Equal("cannot resume the machine: it has stopped", Assert.Throws<VmStateException>(vm.Resume).Message);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    public async Task DisposingAPausedMachineEndsItsThreads()
    {
        var vm = Create(IrqchipMode.Split, out string kernel);
        try
        {
            vm.Start();
            WaitForCountAbove(vm, 0);
            vm.Pause();
            var dispose = Task.Run(vm.Dispose, TestContext.Current.CancellationToken);
            await dispose.WaitAsync(SafetyNet, TestContext.Current.CancellationToken);
            Assert.Equal(VmState.Stopped, vm.State);
        }
        finally
        {
            File.Delete(kernel);
        }
    }
}
