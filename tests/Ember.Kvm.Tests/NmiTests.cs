using Ember.TestGuests;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Kvm.Tests;

/// <summary>KVM_NMI reaches the guest's NMI handler (vector 2), with and without the in-kernel LAPIC.</summary>
[Trait("Requires", "kvm")]
public sealed class NmiTests
{
    private const byte ReadyPort = 0x10, DonePort = 0x11, NmiHandlerPort = 0x13;

    [Theory]
    [InlineData(TestIrqchip.None)]
    [InlineData(TestIrqchip.Kernel)]
    public void AnNmiRunsTheGuestsNmiHandlerOnce(TestIrqchip irqchip)
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create(irqchip);
        machine.WriteCode(16, TestGuestLayout.RealModeHandlers, a =>
        {
            a.@out(NmiHandlerPort, al);
            a.iret();
        });
        machine.SetRealModeVector(2, (ushort)TestGuestLayout.RealModeHandlers);
        machine.LoadRealMode(a =>
        {
            a.cli();  // NMIs are not masked by IF
            a.@out(ReadyPort, al);
            a.nop();
            a.nop();
            a.@out(DonePort, al);
            a.hlt();
        });
        var ports = new List<int>();
        machine.Run((vcpu, exit) =>
        {
            if (exit.Reason != VcpuExitReason.Io)
                return false;
            ports.Add(exit.Io.Port);
            if (exit.Io.Port == ReadyPort)
                vcpu.Nmi();
            return exit.Io.Port != DonePort;
        });
        Assert.Equal([ReadyPort, NmiHandlerPort, DonePort], ports);
    }
}
