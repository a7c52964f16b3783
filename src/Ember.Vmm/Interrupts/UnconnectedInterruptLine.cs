using Ember.Devices.Interrupts;

namespace Ember.Vmm.Interrupts;

/// <summary>
/// A wire that reaches no controller input, e.g. GSIs 16–23 when there is no IOAPIC. Devices may drive
/// it freely; the level goes nowhere, as on a board where the pin is not bonded out.
/// </summary>
internal sealed class UnconnectedInterruptLine : IInterruptLine
{
    public static readonly UnconnectedInterruptLine Instance = new();

    public void SetLevel(bool high)
    {
    }
}
