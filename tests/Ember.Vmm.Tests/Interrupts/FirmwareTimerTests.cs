using Ember.Vmm.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Vmm.Tests.Interrupts;

/// <summary>
/// A multiboot kernel that relies on what a PC firmware leaves behind: it neither programs the 8259A nor
/// the PIT, only unmasks IRQ0, and expects timer ticks on the BIOS's vector 0x08 (MultibootFirmware).
/// </summary>
[Trait("Requires", "kvm")]
public sealed class FirmwareTimerTests
{
    private const byte BiosTimerVector = 0x08;

    [Theory]
    [InlineData(IrqchipMode.Split)]
    [InlineData(IrqchipMode.Kernel)]
    [InlineData(IrqchipMode.Userspace)]
    public void TimerTicksArriveOnTheBiosVectorWithoutTheKernelProgrammingThePicOrThePit(IrqchipMode mode)
    {
        var outcome = IrqchipGuestMachine.Run(mode, a =>
        {
            var unexpected = a.CreateLabel();
            var handler = a.CreateLabel();
            InterruptGuest.Prologue(a, unexpected);
            InterruptGuest.SetGate(a, BiosTimerVector, handler);
            a.mov(al, 0xFE);               // OCW1: unmask IRQ0 only; nothing else is programmed
            a.@out(0x21, al);
            InterruptGuest.WaitUntil(a, InterruptGuest.Counter, 2);
            InterruptGuest.ExitSuccess(a);

            a.Label(ref handler);
            a.inc(__dword_ptr[InterruptGuest.Counter]);
            InterruptGuest.PicEoi(a);
            InterruptGuest.ResumeFromHandler(a);
            InterruptGuest.UnexpectedHandler(a, ref unexpected);
        });
        outcome.AssertSucceeded();
        Assert.Equal(2u, outcome.Counter);
    }
}
