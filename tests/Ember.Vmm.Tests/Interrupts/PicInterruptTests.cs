using Ember.Vmm.Interrupts;
using Ember.Vmm.Machine;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Vmm.Tests.Interrupts;

/// <summary>
/// The 8259A path in every irqchip mode: a guest programs the PIC pair, raises ISA line 5 through the
/// test device, and its handler runs exactly as often as the line asks.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class PicInterruptTests
{
    private const int Irq = 5;
    private const byte Vector = InterruptGuest.PicMasterBase + Irq;

    [Theory]
    [InlineData(IrqchipMode.Kernel)]
    [InlineData(IrqchipMode.Split)]
    [InlineData(IrqchipMode.Userspace)]
    public void EachEdgeOnAnIsaLineRunsThePicHandlerOnce(IrqchipMode mode)
    {
        const uint edges = 20;
        long injections = -1, waits = -1;
        var outcome = IrqchipGuestMachine.Run(mode, a =>
        {
            var unexpected = a.CreateLabel();
            var handler = a.CreateLabel();
            var next = a.CreateLabel();
            InterruptGuest.Prologue(a, unexpected);
            InterruptGuest.SetGate(a, Vector, handler);
            InterruptGuest.InitPic(a, 1 << Irq);
            InterruptGuest.StampPmTimer(a, InterruptGuest.StartTicks);
            // Raise one edge with IF clear, then wait for its handler; repeat.
            a.mov(ebx, 1u);
            a.Label(ref next);
            InterruptGuest.SetLine(a, Irq, true);
            InterruptGuest.SetLine(a, Irq, false);
            a.push(ebx);
            WaitUntilCounterReaches(a);
            a.pop(ebx);
            a.inc(ebx);
            a.cmp(ebx, edges);
            a.jbe(next);
            InterruptGuest.StampPmTimer(a, InterruptGuest.EndTicks);
            InterruptGuest.QuietWindow(a);
            InterruptGuest.ExitSuccess(a);

            a.Label(ref handler);
            a.inc(__dword_ptr[InterruptGuest.Counter]);
            InterruptGuest.PicEoi(a);
            InterruptGuest.ResumeFromHandler(a);
            InterruptGuest.UnexpectedHandler(a, ref unexpected);
        }, inspect: vm =>
        {
            switch (vm.Interrupts)
            {
                case UserspaceInterruptController user:
                    injections = user.KvmInterruptInjections;
                    waits = user.InjectionWaits;
                    break;
                case SplitInterruptController split:
                    injections = split.ExtIntInjections;
                    break;
            }
        });
        outcome.AssertSucceeded();
        Assert.Equal(edges, outcome.Counter);
        IrqchipGuestMachine.Log(mode, "PIC edge, raise-to-handler round trips", outcome.Counter, outcome.GuestElapsed);
        if (mode == IrqchipMode.Userspace)
        {
            // Every vector went in through KVM_INTERRUPT, each after waiting for the guest's STI (raised with IF clear).
            Assert.Equal(edges, injections);
            Assert.True(waits >= edges, $"only {waits} waits for an interrupt window");
        }
        if (mode == IrqchipMode.Split)
            Assert.Equal(edges, injections);  // as ExtINT through LINT0
    }

    [Theory]
    [InlineData(IrqchipMode.Kernel)]
    [InlineData(IrqchipMode.Split)]
    [InlineData(IrqchipMode.Userspace)]
    public void ALevelLineHeldHighThroughTheElcrIsRedeliveredAfterEachEoiUntilItDrops(IrqchipMode mode)
    {
        const uint deliveries = 5;
        var outcome = IrqchipGuestMachine.Run(mode, a =>
        {
            var unexpected = a.CreateLabel();
            var handler = a.CreateLabel();
            var keep = a.CreateLabel();
            InterruptGuest.Prologue(a, unexpected);
            InterruptGuest.SetGate(a, Vector, handler);
            InterruptGuest.InitPic(a, 1 << Irq);
            InterruptGuest.SetElcr(a, 1 << Irq);
            InterruptGuest.StampPmTimer(a, InterruptGuest.StartTicks);
            InterruptGuest.SetLine(a, Irq, true);
            InterruptGuest.WaitUntil(a, InterruptGuest.Counter, deliveries);
            InterruptGuest.StampPmTimer(a, InterruptGuest.EndTicks);
            InterruptGuest.QuietWindow(a);
            InterruptGuest.ExitSuccess(a);

            // The handler drops the line on the last wanted delivery, before its EOI.
            a.Label(ref handler);
            a.inc(__dword_ptr[InterruptGuest.Counter]);
            a.cmp(__dword_ptr[InterruptGuest.Counter], deliveries);
            a.jb(keep);
            InterruptGuest.SetLine(a, Irq, false);
            a.Label(ref keep);
            InterruptGuest.PicEoi(a);
            InterruptGuest.ResumeFromHandler(a);
            InterruptGuest.UnexpectedHandler(a, ref unexpected);
        });
        outcome.AssertSucceeded();
        Assert.Equal(deliveries, outcome.Counter);
        IrqchipGuestMachine.Log(mode, "PIC level, EOI-to-redelivery round trips", outcome.Counter, outcome.GuestElapsed);
    }

    /// <summary>WaitUntil with the target count in EBX (the loop's edge number).</summary>
    private static void WaitUntilCounterReaches(Assembler a)
    {
        var check = a.CreateLabel();
        var done = a.CreateLabel();
        InterruptGuest.SetResume(a, check);
        a.Label(ref check);
        a.cli();
        a.mov(ebx, __dword_ptr[esp]);
        a.cmp(__dword_ptr[InterruptGuest.Counter], ebx);
        a.jae(done);
        a.sti();
        a.hlt();
        a.jmp(check);
        a.Label(ref done);
    }
}
