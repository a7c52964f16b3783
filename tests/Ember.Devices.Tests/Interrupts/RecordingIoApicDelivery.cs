using Ember.Devices.Interrupts;

namespace Ember.Devices.Tests.Interrupts;

/// <summary>Records what an IOAPIC sends out.</summary>
public sealed class RecordingIoApicDelivery : IIoApicDelivery
{
    public List<(int Pin, RedirectionEntry Entry)> Deliveries { get; } = [];

    public List<(int Pin, RedirectionEntry Entry)> Changes { get; } = [];

    public int DeliveriesTo(int pin) => Deliveries.Count(d => d.Pin == pin);

    public void Deliver(int pin, RedirectionEntry entry) => Deliveries.Add((pin, entry));

    public void EntryChanged(int pin, RedirectionEntry entry) => Changes.Add((pin, entry));
}
