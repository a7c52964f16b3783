using Ember.TestGuests;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using Ember.Sys;

namespace Ember.Kvm.Tests;

/// <summary>
/// KVM_CAP_SPLIT_IRQCHIP: in-kernel LAPIC, MSIs through KVM_SIGNAL_MSI and irqfd-backed MSI routes,
/// and KVM_EXIT_IOAPIC_EOI for a level-triggered MSI on a route reserved for the user-space IOAPIC.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class SplitIrqchipTests
{
    private const uint ReservedRoutes = 24;
    private const byte SignalMsiVector = 0x40, IrqfdVector = 0x41, LevelVector = 0x42;
    private const byte StartPort = 0x10, SecondPort = 0x11, ThirdPort = 0x14, DonePort = 0x15, HandlerPort = 0x12;
    private const ulong LapicBase = 0xFEE0_0000;
    private const ulong LapicEoi = LapicBase + 0xB0;
    private const ulong LapicSpuriousVector = LapicBase + 0xF0;
    private const ulong MsiAddressApic0 = 0xFEE0_0000;
    private const uint MsiLevelTriggered = 1 << 15, MsiAssert = 1 << 14;

    private static void WriteHandler(TestMachine machine, ulong address, byte vector)
    {
        machine.WriteCode(64, address, a =>
        {
            a.push(rax);
            a.mov(al, vector);
            a.@out(HandlerPort, al);
            a.mov(rax, LapicEoi);
            a.mov(__dword_ptr[rax], 0);
            a.inc(__dword_ptr[TestGuestLayout.Counter]);
            a.pop(rax);
            a.iretq();
        });
        machine.SetLongModeGate(vector, address);
    }

    /// <summary>cli; until [Counter] ≥ n: sti; hlt (the STI shadow makes the pair atomic); then sti.</summary>
    private static void WaitForCount(Assembler a, uint n)
    {
        var check = a.CreateLabel();
        var done = a.CreateLabel();
        a.Label(ref check);
        a.cli();
        a.cmp(__dword_ptr[TestGuestLayout.Counter], n);
        a.jae(done);
        a.sti();
        a.hlt();
        a.jmp(check);
        a.Label(ref done);
        a.sti();
    }

    [Fact]
    public void MsisReachTheGuestAndALevelMsiOnAReservedRouteExitsWithIoapicEoi()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create(TestIrqchip.Split);
        using var irqfd = new EventFd();
        using var levelIrqfd = new EventFd();
        const uint userGsi = ReservedRoutes + 6, ioapicPinGsi = 5;
        machine.Vm.SetGsiRouting(
        [
            GsiRoutingEntry.Msi(userGsi, MsiAddressApic0, IrqfdVector),
            GsiRoutingEntry.Msi(ioapicPinGsi, MsiAddressApic0, LevelVector | MsiLevelTriggered | MsiAssert),
        ]);
        machine.Vm.RegisterIrqFd(irqfd, userGsi);
        machine.Vm.RegisterIrqFd(levelIrqfd, ioapicPinGsi);

        WriteHandler(machine, TestGuestLayout.Handlers, SignalMsiVector);
        WriteHandler(machine, TestGuestLayout.Handlers + 0x100, IrqfdVector);
        WriteHandler(machine, TestGuestLayout.Handlers + 0x200, LevelVector);
        machine.LoadLong64(a =>
        {
            a.mov(__dword_ptr[TestGuestLayout.Counter], 0);
            a.mov(rbx, LapicSpuriousVector);
            a.mov(__dword_ptr[rbx], 0x1FF);  // APIC software enable, spurious vector 0xFF
            a.@out(StartPort, al);
            WaitForCount(a, 1);
            a.@out(SecondPort, al);
            WaitForCount(a, 2);
            a.@out(ThirdPort, al);
            WaitForCount(a, 3);
            a.@out(DonePort, al);
            a.hlt();
        });

        var handled = new List<byte>();
        var eoiVectors = new List<byte>();
        int delivered = -1;
        machine.Run((vcpu, exit) =>
        {
            switch (exit.Reason)
            {
                case VcpuExitReason.Io when exit.Io.Port == StartPort:
                    delivered = machine.Vm.SignalMsi(MsiAddressApic0, SignalMsiVector);
                    return true;
                case VcpuExitReason.Io when exit.Io.Port == SecondPort:
                    irqfd.Signal();
                    return true;
                case VcpuExitReason.Io when exit.Io.Port == ThirdPort:
                    levelIrqfd.Signal();
                    return true;
                case VcpuExitReason.Io when exit.Io.Port == HandlerPort:
                    handled.Add(exit.Io.Data[0]);
                    return true;
                case VcpuExitReason.IoapicEoi:
                    eoiVectors.Add(exit.EoiVector);
                    return true;
                case VcpuExitReason.Io when exit.Io.Port == DonePort:
                    return false;
                default:
                    Assert.Fail($"unexpected exit {exit.Reason}");
                    return false;
            }
        });
        Assert.True(delivered > 0, "KVM_SIGNAL_MSI reported the MSI as blocked");
        Assert.Equal([SignalMsiVector, IrqfdVector, LevelVector], handled);
        // Only the level-triggered vector on a reserved (IOAPIC) route produces an EOI exit.
        Assert.Equal([LevelVector], eoiVectors);
    }

    [Theory]
    [InlineData(TestIrqchip.None)]    // a vCPU already exists
    [InlineData(TestIrqchip.Kernel)]  // KVM_CREATE_IRQCHIP was called
    public void SplitIrqchipAfterAVcpuOrAnInKernelIrqchipIsATypedEexist(TestIrqchip irqchip)
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create(irqchip);
        var error = Assert.ThrowsAny<KvmException>(() => machine.Vm.EnableSplitIrqchip(ReservedRoutes));
        Assert.Equal(Errno.EEXIST, error.Errno);
    }

    [Fact]
    public void MoreReservedRoutesThanKvmAllowsIsATypedEinval()
    {
        KvmRequirement.Check();
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVirtualMachine();
        var error = Assert.ThrowsAny<KvmException>(() => vm.EnableSplitIrqchip(1u << 20));
        Assert.Equal(Errno.EINVAL, error.Errno);
    }
}
