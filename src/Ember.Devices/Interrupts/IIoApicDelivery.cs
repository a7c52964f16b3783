namespace Ember.Devices.Interrupts;

/// <summary>
/// Where a user-space IOAPIC sends its messages. With KVM's split irqchip the VMM gives every pin an MSI
/// GSI route (built from <see cref="RedirectionEntry.ToMsi"/>) and an irqfd: it rewrites the route on
/// <see cref="EntryChanged"/> and fires the irqfd on <see cref="Deliver"/>.
/// Both are called without the IOAPIC's lock held, EntryChanged for a write before any Deliver it causes.
/// </summary>
public interface IIoApicDelivery
{
    /// <summary>Sends the interrupt of <paramref name="pin"/>, as programmed in <paramref name="entry"/>.</summary>
    void Deliver(int pin, RedirectionEntry entry);

    /// <summary>The guest changed a writable field of the pin's redirection entry (not remote IRR or delivery status).</summary>
    void EntryChanged(int pin, RedirectionEntry entry);
}
