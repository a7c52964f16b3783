namespace Ember.Devices.Interrupts;

/// <summary>One IOAPIC input wire, handed to a device (or the PIT) as its interrupt line.</summary>
internal sealed class IoApicPin(IoApic ioApic, int pin) : IInterruptLine
{
    public void SetLevel(bool high) => ioApic.SetPinLevel(pin, high);
}
