using Ember.TestGuests;
using static Iced.Intel.AssemblerRegisters;
using Ember.Sys;

namespace Ember.Kvm.Tests;

/// <summary>Every get/set pair of the vCPU and VM round-trips what was set.</summary>
[Trait("Requires", "kvm")]
public sealed class VcpuStateTests
{
    [Fact]
    public void RegistersAndSpecialRegistersRoundTrip()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create();
        var vcpu = machine.Vcpu;
        vcpu.SetRegisters(new Registers { Rax = 1, Rbx = 2, R15 = 0xFEED, Rip = 0x1234, Rflags = 0x202 });
        var regs = vcpu.GetRegisters();
        Assert.Equal((1ul, 2ul, 0xFEEDul, 0x1234ul, 0x202ul), (regs.Rax, regs.Rbx, regs.R15, regs.Rip, regs.Rflags));
        var sregs = vcpu.GetSpecialRegisters();
        sregs.Cs.Base = 0x10000;
        sregs.Cs.Selector = 0x1000;
        vcpu.SetSpecialRegisters(sregs);
        Assert.Equal(0x10000ul, vcpu.GetSpecialRegisters().Cs.Base);
    }

    [Fact]
    public void SpecialRegisters2AgreeWithSpecialRegistersAndHaveNoPdptesOutsidePae()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create();
        Assert.SkipUnless(machine.Kvm.HasCapability(KvmCapability.Sregs2), "KVM_CAP_SREGS2 is not offered by this kernel (before Linux 5.14)");
        machine.LoadLong64(a => a.hlt());
        machine.Run((_, exit) => exit.Reason != VcpuExitReason.Hlt);
        var sregs = machine.Vcpu.GetSpecialRegisters();
        var sregs2 = machine.Vcpu.GetSpecialRegisters2();
        Assert.Equal((sregs.Cr0, sregs.Cr3, sregs.Cr4, sregs.Efer, sregs.Cs.Selector, sregs.Gdt.Base),
            (sregs2.Cr0, sregs2.Cr3, sregs2.Cr4, sregs2.Efer, sregs2.Cs.Selector, sregs2.Gdt.Base));
        Assert.Equal(TestGuestLayout.Pml4, sregs2.Cr3);
        // Long mode walks from CR3: there are no PDPTE registers to report.
        Assert.False(sregs2.PdptrsValid);
    }

    [Fact]
    public void FpuMsrsAndMpStateRoundTrip()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create(TestIrqchip.Kernel);
        var vcpu = machine.Vcpu;
        vcpu.SetFpu(new FpuState { Fcw = 0x27F });
        Assert.Equal((ushort)0x27F, vcpu.GetFpu().Fcw);

        const uint star = 0xC000_0081;
        Assert.Equal(1, vcpu.SetMsrs([new MsrEntry(star, 0x0023_0010_0000_0000)]));
        Span<MsrEntry> read = [new MsrEntry(star, 0)];
        Assert.Equal(1, vcpu.GetMsrs(read));
        Assert.Equal(0x0023_0010_0000_0000ul, read[0].Data);

        Assert.Equal(MpState.Runnable, vcpu.GetMpState());
        vcpu.SetMpState(MpState.Halted);
        Assert.Equal(MpState.Halted, vcpu.GetMpState());
    }

    [Fact]
    public void CpuidLapicEventsAndXcrsRoundTrip()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create(TestIrqchip.Kernel);
        var vcpu = machine.Vcpu;
        var cpuid = vcpu.GetCpuid();
        Assert.Contains(cpuid, e => e.Function == 0);

        var lapic = vcpu.GetLapic();
        lapic.WriteRegister(LapicState.LvtLint1Offset, 0x400);  // NMI delivery, unmasked
        vcpu.SetLapic(lapic);
        Assert.Equal(0x400u, vcpu.GetLapic().ReadRegister(LapicState.LvtLint1Offset) & 0x1_07FF);

        var events = vcpu.GetVcpuEvents();
        events.NmiPending = 1;
        events.Flags = VcpuEvents.ValidNmiPending;
        vcpu.SetVcpuEvents(events);
        Assert.Equal(1, vcpu.GetVcpuEvents().NmiPending);

        if (machine.Kvm.HasCapability(KvmCapability.Xcrs))
        {
            var xcrs = vcpu.GetXcrs();
            Assert.True(xcrs.Count >= 1);
            Assert.Equal(0u, xcrs.Get(0).Index);       // XCR0
            Assert.True((xcrs.Get(0).Value & 1) == 1);  // x87 state is always enabled
            vcpu.SetXcrs(xcrs);
        }
    }

    [Fact]
    public void InKernelIrqchipAndClockStateRoundTrip()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create(TestIrqchip.Kernel);
        var ioapic = machine.Vm.GetIrqchip(IrqchipState.IoApic);
        Assert.Equal(IrqchipState.IoApic, ioapic.ChipId);
        machine.Vm.SetIrqchip(ioapic);
        machine.Vm.SetIrqLine(4, true);
        machine.Vm.SetIrqLine(4, false);
        var clock = machine.Vm.GetClock();
        machine.Vm.SetClock(new ClockData { Clock = clock.Clock + 1_000_000_000 });
        Assert.True(machine.Vm.GetClock().Clock >= clock.Clock + 1_000_000_000);
    }

    [Fact]
    public void IrqfdAssignsAndDeassignsAndResampleNeedsTheKernelIrqchip()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create(TestIrqchip.Kernel);
        using var trigger = new EventFd();
        using var resample = new EventFd();
        machine.Vm.RegisterIrqFd(trigger, 5, resample);
        machine.Vm.UnregisterIrqFd(trigger, 5);
        machine.Vm.RegisterIrqFd(trigger, 6);
        var duplicate = Assert.ThrowsAny<KvmException>(() => machine.Vm.RegisterIrqFd(trigger, 6));
        Assert.Equal(Errno.EBUSY, duplicate.Errno);
    }

    [Fact]
    public void SingleSteppingExitsWithADebugExitAtEachInstruction()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create();
        machine.LoadRealMode(a =>
        {
            a.nop();
            a.inc(ax);
            a.hlt();
        });
        var debug = new GuestDebug { Control = GuestDebug.Enable | GuestDebug.SingleStep };
        machine.Vcpu.SetGuestDebug(debug);
        var pcs = new List<ulong>();
        machine.Run((vcpu, exit) =>
        {
            if (exit.Reason != VcpuExitReason.Debug)
                return false;
            Assert.Equal(1u, exit.Debug.Exception);  // #DB
            pcs.Add(exit.Debug.Pc);
            return pcs.Count < 2;
        });
        Assert.Equal([TestGuestLayout.RealModeCode + 1, TestGuestLayout.RealModeCode + 2], pcs);
    }
}
