using Ember.Vmm.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Vmm.Tests.Interrupts;

/// <summary>
/// The user-space controllers kick vCPU 0 from host threads (PIC output, retry timer) at any moment,
/// including while its thread runs managed code between two KVM_RUNs. A kick must only cost an exit.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class VcpuKickTests
{
    [Fact]
    public void KicksLandingAtAnyPointOfTheExitLoopOnlyCostExits()
    {
        const uint iterations = 3000;
        long kicks = 0;
        var outcome = IrqchipGuestMachine.Run(IrqchipMode.Userspace, a =>
        {
            var unexpected = a.CreateLabel();
            var loop = a.CreateLabel();
            InterruptGuest.Prologue(a, unexpected);
            a.mov(__dword_ptr[InterruptGuest.Ready], 1);
            // Port writes: the vCPU thread spends much of its time in managed exit handling.
            a.mov(ecx, iterations);
            a.Label(ref loop);
            a.@out(0x80, al);
            a.inc(__dword_ptr[InterruptGuest.Counter]);
            a.dec(ecx);
            a.jnz(loop);
            InterruptGuest.ExitSuccess(a);
            InterruptGuest.UnexpectedHandler(a, ref unexpected);
        }, whileRunning: vm =>
        {
            IrqchipGuestMachine.WaitForGuestFlag(vm, InterruptGuest.Ready);
            while (!vm.StopRequested)
            {
                vm.Vcpus[0].Kick();
                kicks++;
                Thread.SpinWait(200);
            }
        });
        outcome.AssertSucceeded();
        Assert.Equal(iterations, outcome.Counter);
        Assert.True(kicks > 100, $"only {kicks} kicks were sent");
    }
}
