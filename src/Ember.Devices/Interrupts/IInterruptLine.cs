namespace Ember.Devices.Interrupts;

/// <summary>
/// One interrupt wire out of a device. The device drives the level; whoever owns the line
/// (an in-kernel irqchip via KVM_IRQ_LINE, a user-space PIC/IOAPIC pin, an irqfd) decides
/// what an edge or a level means. Devices never know which.
/// </summary>
public interface IInterruptLine
{
    /// <summary>Drives the line high (true) or low (false). Repeating the current level is harmless.</summary>
    void SetLevel(bool high);

    /// <summary>A rising then falling edge, for edge-triggered sources.</summary>
    void Pulse()
    {
        SetLevel(true);
        SetLevel(false);
    }
}
