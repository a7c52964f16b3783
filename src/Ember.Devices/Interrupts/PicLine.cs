namespace Ember.Devices.Interrupts;

/// <summary>One ISA IRQ wire into a <see cref="DualPic"/>, handed to a device as its interrupt line.</summary>
internal sealed class PicLine(DualPic pic, int irq) : IInterruptLine
{
    public void SetLevel(bool high) => pic.SetIrqLevel(irq, high);
}
