using Ember.Kvm;
using Ember.Vmm.Interrupts;
using Ember.Vmm.Machine;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using Ember.Sys;

namespace Ember.Vmm.Tests.Interrupts;

/// <summary>
/// The IOAPIC path where there is one (kernel and split modes): a guest masks the 8259s, programs a
/// redirection entry and the local APIC, raises ISA line 5 through the test device, and counts its
/// handler. In split mode the IOAPIC is Ember's, behind MSI routes and irqfds, and level EOIs come back
/// as KVM_EXIT_IOAPIC_EOI.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class IoApicInterruptTests
{
    private const int Pin = 5;
    private const byte Vector = 0x35;

    [Theory]
    [InlineData(IrqchipMode.Kernel)]
    [InlineData(IrqchipMode.Split)]
    public void EachEdgeOnAnEdgeTriggeredPinRunsTheHandlerOnce(IrqchipMode mode)
    {
        const uint edges = 20;
        long eoiExits = -1, signals = -1;
        var outcome = IrqchipGuestMachine.Run(mode, a =>
        {
            var unexpected = a.CreateLabel();
            var handler = a.CreateLabel();
            var next = a.CreateLabel();
            var check = a.CreateLabel();
            var handled = a.CreateLabel();
            Setup(a, unexpected, handler, level: false);
            InterruptGuest.StampPmTimer(a, InterruptGuest.StartTicks);
            a.mov(ebx, 1u);
            InterruptGuest.SetResume(a, check);
            a.Label(ref next);
            InterruptGuest.SetLine(a, Pin, true);
            InterruptGuest.SetLine(a, Pin, false);
            // Wait for handler number EBX (handlers leave EBX alone).
            a.Label(ref check);
            a.cli();
            a.cmp(__dword_ptr[InterruptGuest.Counter], ebx);
            a.jae(handled);
            a.sti();
            a.hlt();
            a.jmp(check);
            a.Label(ref handled);
            a.inc(ebx);
            a.cmp(ebx, edges);
            a.jbe(next);
            InterruptGuest.StampPmTimer(a, InterruptGuest.EndTicks);
            InterruptGuest.QuietWindow(a);
            InterruptGuest.ExitSuccess(a);

            a.Label(ref handler);
            a.inc(__dword_ptr[InterruptGuest.Counter]);
            InterruptGuest.LapicEoi(a);
            InterruptGuest.ResumeFromHandler(a);
            InterruptGuest.UnexpectedHandler(a, ref unexpected);
        }, inspect: vm => ReadSplitCounters(vm, out eoiExits, out signals));
        outcome.AssertSucceeded();
        Assert.Equal(edges, outcome.Counter);
        IrqchipGuestMachine.Log(mode, "IOAPIC edge, raise-to-handler round trips", outcome.Counter, outcome.GuestElapsed);
        if (mode == IrqchipMode.Split)
        {
            Assert.Equal(edges, signals);
            Assert.Equal(0, eoiExits);  // edge vectors are not in the TMR: their EOIs stay in the kernel
        }
    }

    [Theory]
    [InlineData(IrqchipMode.Kernel)]
    [InlineData(IrqchipMode.Split)]
    public void ALevelPinHeldHighIsRedeliveredAfterEachEoiAndStopsOnceTheLineDrops(IrqchipMode mode)
    {
        const uint deliveries = 5;
        long eoiExits = -1, signals = -1;
        var outcome = RunLevelGuest(mode, deliveries, vm => ReadSplitCounters(vm, out eoiExits, out signals));
        outcome.AssertSucceeded();
        IrqchipGuestMachine.Log(mode, "IOAPIC level, EOI-to-redelivery round trips", outcome.Counter, outcome.GuestElapsed);
        if (mode == IrqchipMode.Kernel)
        {
            // KVM's own IOAPIC: whatever raw KVM does on this host for one serviced level interrupt, no more.
            Assert.Equal(deliveries + InKernelIoapicProbe.SurplusLevelDeliveries, outcome.Counter);
            return;
        }
        Assert.Equal(deliveries, outcome.Counter);
        // Each EOI of the level vector left the kernel as KVM_EXIT_IOAPIC_EOI; all but the last found the
        // line still high and sent the pin's MSI again through its irqfd.
        Assert.Equal(deliveries, eoiExits);
        Assert.Equal(deliveries, signals);
    }

    [Fact]
    public void TheStormGuardPacesALevelPinThatIsNeverServiced()
    {
        // The handler EOIs without clearing the condition until it has run StormThreshold + 20 times.
        const uint deliveries = SplitInterruptController.StormThreshold + 20;
        long deferrals = -1;
        var outcome = RunLevelGuest(IrqchipMode.Split, deliveries,
            vm => deferrals = ((SplitInterruptController)vm.Interrupts).IoApic.StormDeferrals);
        outcome.AssertSucceeded();
        Assert.Equal(deliveries, outcome.Counter);
        // Past the threshold the pin was left to the retry timer, and delivery resumed from there.
        Assert.True(deferrals >= 1, $"the storm guard never deferred (deferrals: {deferrals})");
        IrqchipGuestMachine.Log(IrqchipMode.Split, "IOAPIC level storm (with a timer back-off)", outcome.Counter, outcome.GuestElapsed);
    }

    /// <summary>
    /// Raises line 5 once and holds it; the handler counts and EOIs, and on delivery
    /// <paramref name="deliveries"/> lowers the line first, as a device whose condition was cleared.
    /// </summary>
    [Fact]
    public void InSplitModeEachLevelEoiSignalsTheLinesResampleFd()
    {
        const uint deliveries = 5;
        using var resample = new EventFd();
        long sent = -1;
        var outcome = RunLevelGuest(IrqchipMode.Split, deliveries,
            vm => sent = ((SplitInterruptController)vm.Interrupts).ResampleSignals,
            beforeRun: vm => ((SplitInterruptController)vm.Interrupts).RegisterResampleFd(Pin, resample));
        outcome.AssertSucceeded();
        Assert.Equal(deliveries, outcome.Counter);
        // KVM never signals a resamplefd in split mode; Ember did, once per EOI of the level vector.
        Assert.Equal(deliveries, (uint)sent);
        Assert.Equal(deliveries, resample.Drain());
    }

    private static GuestOutcome RunLevelGuest(IrqchipMode mode, uint deliveries, Action<MicroVm> inspect, Action<MicroVm>? beforeRun = null) =>
        IrqchipGuestMachine.Run(mode, a =>
        {
            var unexpected = a.CreateLabel();
            var handler = a.CreateLabel();
            var keep = a.CreateLabel();
            Setup(a, unexpected, handler, level: true);
            InterruptGuest.StampPmTimer(a, InterruptGuest.StartTicks);
            InterruptGuest.SetLine(a, Pin, true);
            InterruptGuest.WaitUntil(a, InterruptGuest.Counter, deliveries);
            InterruptGuest.StampPmTimer(a, InterruptGuest.EndTicks);
            InterruptGuest.QuietWindow(a);
            InterruptGuest.ExitSuccess(a);

            a.Label(ref handler);
            a.inc(__dword_ptr[InterruptGuest.Counter]);
            a.cmp(__dword_ptr[InterruptGuest.Counter], deliveries);
            a.jb(keep);
            InterruptGuest.SetLine(a, Pin, false);
            a.Label(ref keep);
            InterruptGuest.LapicEoiThenExit(a);
            InterruptGuest.ResumeFromHandler(a);
            InterruptGuest.UnexpectedHandler(a, ref unexpected);
        }, inspect: inspect, beforeRun: beforeRun);

    private static void Setup(Assembler a, Label unexpected, Label handler, bool level)
    {
        InterruptGuest.Prologue(a, unexpected);
        InterruptGuest.SetGate(a, Vector, handler);
        // An OS that uses the IOAPIC masks the 8259s; KVM's in-kernel pair starts unprogrammed at vector 0.
        InterruptGuest.InitPic(a, unmaskedIrqs: 0);
        InterruptGuest.EnableLapic(a);
        InterruptGuest.ProgramIoapicPin(a, Pin, Vector, level);
    }

    private static void ReadSplitCounters(MicroVm vm, out long eoiExits, out long signals)
    {
        eoiExits = signals = -1;
        if (vm.Interrupts is SplitInterruptController split)
        {
            eoiExits = split.IoapicEoiExits;
            signals = split.IrqfdSignals;
        }
    }
}
