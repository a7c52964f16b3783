using Ember.Devices.Interrupts;

namespace Ember.Vmm.Interrupts;

/// <summary>
/// One ISA interrupt wire that reaches several controller inputs at once, as on a PC with both an
/// 8259A pair and an I/O APIC: ISA IRQ n drives PIC input n and the IOAPIC pin the MADT maps it to
/// (ACPI 6.x §5.2.12.5, Interrupt Source Override). Whichever input the guest has unmasked delivers.
/// </summary>
internal sealed class FanOutInterruptLine(params IInterruptLine[] inputs) : IInterruptLine
{
    public void SetLevel(bool high)
    {
        foreach (var input in inputs)
            input.SetLevel(high);
    }
}
