using Ember.Vmm.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Vmm.Tests.Interrupts;

/// <summary>
/// <see cref="MicroVm.InjectNmi"/>: the host pauses the vCPU and sends an NMI, which reaches the guest's
/// vector-2 handler even with IF clear and from HLT; with an in-kernel LAPIC only while LVT LINT1 is
/// unmasked in NMI mode.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class NmiInjectionTests
{
    private const byte NmiVector = 2;

    [Theory]
    [InlineData(IrqchipMode.Kernel)]
    [InlineData(IrqchipMode.Split)]
    [InlineData(IrqchipMode.Userspace)]
    public void AnNmiFromTheHostWakesAGuestHaltedWithInterruptsOffAndRunsItsNmiHandler(IrqchipMode mode)
    {
        bool? delivered = null;
        var outcome = IrqchipGuestMachine.Run(mode, a =>
        {
            var unexpected = a.CreateLabel();
            var nmi = a.CreateLabel();
            var halt = a.CreateLabel();
            var done = a.CreateLabel();
            InterruptGuest.Prologue(a, unexpected);
            InterruptGuest.SetGate(a, NmiVector, nmi);
            InterruptGuest.SetResume(a, done);
            a.mov(__dword_ptr[InterruptGuest.Ready], 1);
            // cli; hlt: only an NMI (or reset) can end this.
            a.Label(ref halt);
            a.cli();
            a.hlt();
            a.jmp(halt);
            a.Label(ref done);
            InterruptGuest.ExitSuccess(a);

            a.Label(ref nmi);
            a.inc(__dword_ptr[InterruptGuest.NmiCount]);
            InterruptGuest.ResumeFromHandler(a);
            InterruptGuest.UnexpectedHandler(a, ref unexpected);
        }, whileRunning: vm =>
        {
            IrqchipGuestMachine.WaitForGuestFlag(vm, InterruptGuest.Ready);
            delivered = vm.InjectNmi();
        });
        outcome.AssertSucceeded();
        Assert.True(delivered);
        Assert.Equal(1u, outcome.NmiCount);
    }

    [Theory]
    [InlineData(IrqchipMode.Kernel)]
    [InlineData(IrqchipMode.Split)]
    public void WithLint1MaskedTheNmiIsNotSent(IrqchipMode mode)
    {
        bool? delivered = null;
        var outcome = IrqchipGuestMachine.Run(mode, a =>
        {
            var unexpected = a.CreateLabel();
            var nmi = a.CreateLabel();
            var wait = a.CreateLabel();
            InterruptGuest.Prologue(a, unexpected);
            InterruptGuest.SetGate(a, NmiVector, nmi);
            InterruptGuest.MaskLint1(a);
            a.mov(__dword_ptr[InterruptGuest.Ready], 1);
            // Spin (no HLT) until the host says it has tried.
            a.Label(ref wait);
            a.pause();
            a.cmp(__dword_ptr[InterruptGuest.Proceed], 0);
            a.je(wait);
            InterruptGuest.ExitSuccess(a);

            a.Label(ref nmi);
            a.inc(__dword_ptr[InterruptGuest.NmiCount]);
            InterruptGuest.ExitSuccess(a);
            InterruptGuest.UnexpectedHandler(a, ref unexpected);
        }, whileRunning: vm =>
        {
            IrqchipGuestMachine.WaitForGuestFlag(vm, InterruptGuest.Ready);
            delivered = vm.InjectNmi();
            vm.Memory.WriteObject(new(InterruptGuest.Proceed), 1u);
        });
        outcome.AssertSucceeded();
        Assert.False(delivered);
        Assert.Equal(0u, outcome.NmiCount);
    }
}
