using System.Diagnostics;
using Ember.Devices.Interrupts;
using Ember.Vmm.Interrupts;
using Ember.Vmm.Machine;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Vmm.Tests.Interrupts;

/// <summary>
/// A device's message-signalled vectors (<see cref="IMsiVectorGroup"/>) reaching a real guest in every
/// irqchip mode: irqfds on MSI routes to the in-kernel LAPIC in split and kernel mode, the device's INTx
/// line through the user-space 8259A in user-space mode. The host side plays the device.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class MsiVectorGroupTests
{
    private const byte MsiVector = 0x41;
    private const int FallbackIrq = 5;
    private static readonly TimeSpan SafetyNet = TimeSpan.FromSeconds(120);

    /// <summary>Fixed delivery, edge, physical destination APIC 0 (Intel SDM vol. 3 §11.11.1 and §11.11.2).</summary>
    private static readonly MsiMessage ToApic0 = new(0xFEE0_0000, MsiVector);

    [Theory]
    [InlineData(IrqchipMode.Split)]
    [InlineData(IrqchipMode.Kernel)]
    public void EachVectorReachesTheGuestThroughTriggerAndThroughItsNotifierAfterTheGuestReprogramsTheIoapic(IrqchipMode mode)
    {
        IMsiVectorGroup? group = null;
        var outcome = IrqchipGuestMachine.Run(mode, a =>
        {
            var unexpected = a.CreateLabel();
            var handler = a.CreateLabel();
            InterruptGuest.Prologue(a, unexpected);
            InterruptGuest.SetGate(a, MsiVector, handler);
            InterruptGuest.InitPic(a, unmaskedIrqs: 0);
            InterruptGuest.EnableLapic(a);
            // A redirection-entry write after the device's routes exist: in split mode it rewrites KVM's
            // routing table, which must keep the device's MSI routes.
            InterruptGuest.ProgramIoapicPin(a, 7, 0x37, level: false);
            a.mov(__dword_ptr[InterruptGuest.Ready], 1u);
            InterruptGuest.WaitUntil(a, InterruptGuest.Counter, 2);
            InterruptGuest.QuietWindow(a);
            InterruptGuest.ExitSuccess(a);

            a.Label(ref handler);
            a.inc(__dword_ptr[InterruptGuest.Counter]);
            InterruptGuest.LapicEoi(a);
            InterruptGuest.ResumeFromHandler(a);
            InterruptGuest.UnexpectedHandler(a, ref unexpected);
        },
        beforeRun: vm =>
        {
            group = vm.Interrupts.CreateMsiVectors(2, vm.Interrupts.IsaLine(FallbackIrq));
            group.Update(0, ToApic0, masked: false);
            group.Update(1, ToApic0, masked: false);
        },
        whileRunning: vm =>
        {
            IrqchipGuestMachine.WaitForGuestFlag(vm, InterruptGuest.Ready);
            group!.Trigger(0);
            WaitForCount(vm, 1);
            group.Notifier(1).Signal();
        },
        inspect: _ => group?.Dispose());
        outcome.AssertSucceeded();
        Assert.Equal(2u, outcome.Counter);
    }

    [Fact]
    public void AMaskedVectorIsHeldBackAndDeliveredOnceWhenUnmasked()
    {
        IMsiVectorGroup? group = null;
        bool deliveredWhileMasked = false;
        var outcome = IrqchipGuestMachine.Run(IrqchipMode.Split, a =>
        {
            var unexpected = a.CreateLabel();
            var handler = a.CreateLabel();
            InterruptGuest.Prologue(a, unexpected);
            InterruptGuest.SetGate(a, MsiVector, handler);
            InterruptGuest.InitPic(a, unmaskedIrqs: 0);
            InterruptGuest.EnableLapic(a);
            a.mov(__dword_ptr[InterruptGuest.Ready], 1u);
            // Halted with IF=1 throughout: a vector that got through while masked would be counted at once.
            InterruptGuest.WaitUntil(a, InterruptGuest.Counter, 1);
            InterruptGuest.QuietWindow(a);
            InterruptGuest.ExitSuccess(a);

            a.Label(ref handler);
            a.inc(__dword_ptr[InterruptGuest.Counter]);
            InterruptGuest.LapicEoi(a);
            InterruptGuest.ResumeFromHandler(a);
            InterruptGuest.UnexpectedHandler(a, ref unexpected);
        },
        beforeRun: vm =>
        {
            group = vm.Interrupts.CreateMsiVectors(1, vm.Interrupts.IsaLine(FallbackIrq));
            group.Update(0, ToApic0, masked: false);
            group.Update(0, ToApic0, masked: true);
        },
        whileRunning: vm =>
        {
            IrqchipGuestMachine.WaitForGuestFlag(vm, InterruptGuest.Ready);
            group!.Trigger(0);
            group.Trigger(0);
            // Only a failure can show here, never a pass by luck: a leak through the mask lands in well under this.
            Thread.Sleep(200);
            deliveredWhileMasked = Counter(vm) != 0;
            group.Update(0, ToApic0, masked: false);
        },
        inspect: _ => group?.Dispose());
        Assert.False(deliveredWhileMasked, "a masked vector reached the guest");
        outcome.AssertSucceeded();
        // Both triggers while masked add up in the eventfd: the guest sees one interrupt for them (edge MSI).
        Assert.Equal(1u, outcome.Counter);
    }

    [Fact]
    public void WithoutALocalApicVectorsFallBackToTheDevicesIntxLineThroughThe8259()
    {
        IMsiVectorGroup? group = null;
        var outcome = IrqchipGuestMachine.Run(IrqchipMode.Userspace, a =>
        {
            var unexpected = a.CreateLabel();
            var handler = a.CreateLabel();
            InterruptGuest.Prologue(a, unexpected);
            InterruptGuest.SetGate(a, InterruptGuest.PicMasterBase + FallbackIrq, handler);
            InterruptGuest.InitPic(a, unmaskedIrqs: 1 << FallbackIrq);
            a.mov(__dword_ptr[InterruptGuest.Ready], 1u);
            InterruptGuest.WaitUntil(a, InterruptGuest.Counter, 2);
            InterruptGuest.ExitSuccess(a);

            a.Label(ref handler);
            a.inc(__dword_ptr[InterruptGuest.Counter]);
            InterruptGuest.PicEoi(a);
            InterruptGuest.ResumeFromHandler(a);
            InterruptGuest.UnexpectedHandler(a, ref unexpected);
        },
        beforeRun: vm =>
        {
            group = vm.Interrupts.CreateMsiVectors(2, vm.Interrupts.IsaLine(FallbackIrq));
            group.Update(0, ToApic0, masked: false);
            group.Update(1, ToApic0, masked: false);
        },
        whileRunning: vm =>
        {
            IrqchipGuestMachine.WaitForGuestFlag(vm, InterruptGuest.Ready);
            group!.Trigger(0);
            WaitForCount(vm, 1);
            group.Notifier(1).Signal();
        },
        inspect: _ => group?.Dispose());
        outcome.AssertSucceeded();
        Assert.Equal(2u, outcome.Counter);
    }

    private static uint Counter(MicroVm vm) => vm.Memory.ReadObject<uint>(new(InterruptGuest.Counter));

    private static void WaitForCount(MicroVm vm, uint count)
    {
        var clock = Stopwatch.StartNew();
        while (Counter(vm) < count)
        {
            if (vm.StopRequested || clock.Elapsed > SafetyNet)
                throw new TimeoutException($"the guest counted {Counter(vm)} of {count} interrupts");
            Thread.Sleep(1);
        }
    }
}
