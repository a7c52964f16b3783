using Ember.TestGuests;
using static Iced.Intel.AssemblerRegisters;
using Ember.Sys;

namespace Ember.Kvm.Tests;

/// <summary>KVM_INTERRUPT from a user-space interrupt controller, with no in-kernel irqchip (api.rst 4.16).</summary>
[Trait("Requires", "kvm")]
public sealed class InterruptInjectionTests
{
    private const byte Vector = 0x20;
    private const byte ReadyPort = 0x10, DonePort = 0x11, HandlerPort = 0x12;

    /// <summary>
    /// A real-mode guest that waits with IF=0 for a while, then enables interrupts and halts until its
    /// handler (IVT vector 0x20) has counted three interrupts.
    /// </summary>
    private static void LoadCountingGuest(TestMachine machine)
    {
        ushort counter = (ushort)TestGuestLayout.Counter;
        machine.WriteCode(16, TestGuestLayout.RealModeHandlers, a =>
        {
            a.inc(__word_ptr[counter]);
            a.@out(HandlerPort, al);
            a.iret();
        });
        machine.SetRealModeVector(Vector, (ushort)TestGuestLayout.RealModeHandlers);
        machine.LoadRealMode(a =>
        {
            var spin = a.CreateLabel();
            var wait = a.CreateLabel();
            a.cli();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(__word_ptr[counter], 0);
            a.@out(ReadyPort, al);
            a.mov(cx, 20);
            a.Label(ref spin);
            a.loop(spin);
            a.sti();
            a.nop();
            a.Label(ref wait);
            a.hlt();
            a.cmp(__word_ptr[counter], 3);
            a.jb(wait);
            a.@out(DonePort, al);
            a.hlt();
        });
    }

    [Fact]
    public void InterruptsInjectedWhileTheGuestIsReadyRunItsHandlerOncePerVector()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create(TestIrqchip.None);
        LoadCountingGuest(machine);
        int injected = 0, handled = 0;
        bool notReadyWithIfClear = false, done = false;
        machine.Run((vcpu, exit) =>
        {
            switch (exit.Reason)
            {
                case VcpuExitReason.Io when exit.Io.Port == ReadyPort:
                    // The guest has IF=0: KVM must say it cannot take an interrupt now.
                    notReadyWithIfClear = !vcpu.ReadyForInterruptInjection && !vcpu.InterruptFlag;
                    return true;
                case VcpuExitReason.Io when exit.Io.Port == HandlerPort:
                    handled++;
                    return true;
                case VcpuExitReason.Hlt when !done:
                    Assert.True(vcpu.ReadyForInterruptInjection && vcpu.InterruptFlag, "halted with IF=1 but not ready");
                    vcpu.Interrupt(Vector);
                    injected++;
                    return injected <= 3;
                case VcpuExitReason.Io when exit.Io.Port == DonePort:
                    done = true;
                    return true;
                default:
                    return false;
            }
        });
        Assert.True(notReadyWithIfClear, "with IF=0 KVM reported ready_for_interrupt_injection");
        Assert.True(done, "the guest did not count three interrupts");
        Assert.Equal(3, injected);
        Assert.Equal(3, handled);
        Assert.Equal(3u, machine.ReadUInt32(TestGuestLayout.Counter) & 0xFFFF);
    }

    [Fact]
    public void WithASplitIrqchipASecondVectorBeforeTheFirstIsTakenIsATypedEexist()
    {
        // With the LAPIC in the kernel and the PIC in user space, KVM_INTERRUPT queues one ExtINT
        // vector at a time; without any in-kernel irqchip a second call simply replaces the first.
        KvmRequirement.Check();
        using var machine = TestMachine.Create(TestIrqchip.Split);
        Assert.Equal(InterruptInjectionResult.Injected, machine.Vcpu.TryInterrupt(Vector));
        var error = Assert.Throws<InterruptInjectionException>(() => machine.Vcpu.Interrupt(Vector + 1));
        Assert.Equal(InterruptInjectionResult.AlreadyQueued, error.Result);
        Assert.Equal(Errno.EEXIST, error.Errno);
    }

    [Fact]
    public void AVectorBeyond255IsATypedInvalidVector()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create(TestIrqchip.None);
        var error = Assert.Throws<InterruptInjectionException>(() => machine.Vcpu.Interrupt(256));
        Assert.Equal(InterruptInjectionResult.InvalidVector, error.Result);
        Assert.Equal(Errno.EINVAL, error.Errno);
    }

    [Fact]
    public void WithTheInKernelIrqchipKvmInterruptIsATypedEnxio()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create(TestIrqchip.Kernel);
        var error = Assert.Throws<InterruptInjectionException>(() => machine.Vcpu.Interrupt(Vector));
        Assert.Equal(InterruptInjectionResult.IrqchipInKernel, error.Result);
        Assert.Equal(Errno.ENXIO, error.Errno);
    }
}
