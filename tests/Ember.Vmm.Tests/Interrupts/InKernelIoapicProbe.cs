using Ember.Kvm;
using Ember.TestGuests;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Vmm.Tests.Interrupts;

/// <summary>
/// Measures, with raw KVM and no Ember code, how many times KVM's own in-kernel IOAPIC delivers one level
/// interrupt that a 64-bit guest services once: the handler lowers the line (KVM_IRQ_LINE 0) and then EOIs.
/// A conforming KVM delivers once. This host's kvm_pvm delivers twice (the vector is already pending again
/// in the LAPIC's IRR when the handler starts), so the kernel-mode tests compare against this number
/// rather than against 1, to show that Ember adds nothing of its own.
/// </summary>
internal static class InKernelIoapicProbe
{
    private const byte Vector = 0x42;
    private const byte ReadyPort = 0x10, LowerPort = 0x11, DonePort = 0x15, QuietPort = 0x80;
    private const int Pin = 5;
    private const int QuietExits = 40;

    private static readonly Lazy<uint> Measured = new(Measure);

    /// <summary>Deliveries beyond the one a conforming KVM makes (0 on a conforming host).</summary>
    public static uint SurplusLevelDeliveries => Measured.Value - 1;

    private static uint Measure()
    {
        using var machine = TestMachine.Create(TestIrqchip.Kernel);
        machine.WriteCode(64, TestGuestLayout.Handlers, a =>
        {
            a.push(rax);
            a.push(rbx);
            a.inc(__dword_ptr[TestGuestLayout.Counter]);
            a.@out(LowerPort, al);
            a.mov(rbx, 0xFEE0_00B0);          // LAPIC EOI
            a.mov(__dword_ptr[rbx], 0);
            a.pop(rbx);
            a.pop(rax);
            a.iretq();
        });
        machine.SetLongModeGate(Vector, TestGuestLayout.Handlers);
        machine.LoadLong64(a =>
        {
            a.mov(__dword_ptr[TestGuestLayout.Counter], 0);
            a.mov(al, 0xFF);                   // mask both 8259s (OCW1): KVM's start at vector base 0
            a.@out(0x21, al);
            a.@out(0xA1, al);
            a.mov(rbx, 0xFEE0_00F0);          // LAPIC software enable, spurious vector 0xFF
            a.mov(__dword_ptr[rbx], 0x1FF);
            a.mov(rbx, 0xFEC0_0000);          // IOAPIC pin 5: vector 0x42, level, APIC 0
            a.mov(__dword_ptr[rbx], 0x11 + 2 * Pin);
            a.mov(__dword_ptr[rbx + 0x10], 0);
            a.mov(__dword_ptr[rbx], 0x10 + 2 * Pin);
            a.mov(__dword_ptr[rbx + 0x10], Vector | 0x8000);
            a.sti();
            a.@out(ReadyPort, al);
            for (int i = 0; i < QuietExits; i++)
                a.@out(QuietPort, al);
            a.@out(DonePort, al);
            a.hlt();
        });
        machine.Run((vcpu, exit) =>
        {
            switch (exit.Reason)
            {
                case VcpuExitReason.Io when exit.Io.Port == ReadyPort:
                    machine.Vm.SetIrqLine(Pin, true);
                    return true;
                case VcpuExitReason.Io when exit.Io.Port == LowerPort:
                    machine.Vm.SetIrqLine(Pin, false);
                    return true;
                case VcpuExitReason.Io when exit.Io.Port == QuietPort:
                    return true;
                default:
                    return false;
            }
        });
        return machine.ReadUInt32(TestGuestLayout.Counter);
    }
}
