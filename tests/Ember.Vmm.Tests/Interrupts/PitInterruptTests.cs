using Ember.Vmm.Interrupts;
using Ember.Vmm.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Vmm.Tests.Interrupts;

/// <summary>
/// The 8254's counter 0 as a periodic timer: a guest programs it as a rate generator and sleeps in HLT,
/// and each tick wakes it, through the PIC in every mode and through IOAPIC pin 2 (the MADT's override
/// for IRQ0) where there is an IOAPIC. In kernel mode the PIT is KVM's, otherwise Ember's on a host timer.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class PitInterruptTests
{
    private const uint Ticks = 10;
    /// <summary>1193 input clocks of 1.193182 MHz: a 1 ms period (8254 mode 2).</summary>
    private const ushort OneMillisecondCount = 1193;
    private const byte IoapicVector = 0x30;
    private const int PitIoapicPin = 2;

    public static TheoryData<IrqchipMode, bool> Routes => new()
    {
        { IrqchipMode.Kernel, false },
        { IrqchipMode.Split, false },
        { IrqchipMode.Userspace, false },
        { IrqchipMode.Kernel, true },
        { IrqchipMode.Split, true },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public void APeriodicPitInterruptWakesAHaltedGuestOncePerPeriod(IrqchipMode mode, bool throughIoapic)
    {
        long hostTimerExpiries = -1;
        var outcome = IrqchipGuestMachine.Run(mode, a =>
        {
            var unexpected = a.CreateLabel();
            var handler = a.CreateLabel();
            InterruptGuest.Prologue(a, unexpected);
            if (throughIoapic)
            {
                InterruptGuest.SetGate(a, IoapicVector, handler);
                InterruptGuest.InitPic(a, unmaskedIrqs: 0);
                InterruptGuest.EnableLapic(a);
                InterruptGuest.ProgramIoapicPin(a, PitIoapicPin, IoapicVector, level: false);
            }
            else
            {
                InterruptGuest.SetGate(a, InterruptGuest.PicMasterBase + Layout.PitIrq, handler);
                InterruptGuest.InitPic(a, 1 << Layout.PitIrq);
            }
            InterruptGuest.StampPmTimer(a, InterruptGuest.StartTicks);
            InterruptGuest.StartPitRateGenerator(a, OneMillisecondCount);
            InterruptGuest.WaitUntil(a, InterruptGuest.Counter, Ticks);
            InterruptGuest.StampPmTimer(a, InterruptGuest.EndTicks);
            InterruptGuest.StopPit(a);
            InterruptGuest.ExitSuccess(a);

            a.Label(ref handler);
            a.inc(__dword_ptr[InterruptGuest.Counter]);
            if (throughIoapic)
                InterruptGuest.LapicEoi(a);
            else
                InterruptGuest.PicEoi(a);
            InterruptGuest.ResumeFromHandler(a);
            InterruptGuest.UnexpectedHandler(a, ref unexpected);
        }, inspect: vm => hostTimerExpiries = vm.Interrupts switch
        {
            SplitInterruptController split => split.PitTimerExpiries,
            UserspaceInterruptController user => user.PitTimerExpiries,
            _ => -1,
        });
        outcome.AssertSucceeded();
        Assert.Equal(Ticks, outcome.Counter);
        // The tenth rising edge of a 1 ms rate generator comes 10 ms after the count is loaded, never sooner.
        Assert.True(outcome.GuestElapsed >= TimeSpan.FromMilliseconds(9.5), $"{Ticks} ticks took only {outcome.GuestElapsed.TotalMilliseconds:F2} ms");
        if (mode != IrqchipMode.Kernel)
            Assert.True(hostTimerExpiries >= Ticks, $"only {hostTimerExpiries} host timer expiries drove {Ticks} ticks");
        IrqchipGuestMachine.Log(mode, $"PIT 1 kHz through {(throughIoapic ? "IOAPIC pin 2" : "the PIC")}", outcome.Counter, outcome.GuestElapsed);
    }
}
