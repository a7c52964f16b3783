namespace Ember.Devices.Interrupts;

/// <summary>
/// What an <see cref="IoApic"/> operation decided to tell the outside world, gathered under the lock and
/// sent after it is released, with the entries as they were at the decision. A stack value, so delivering
/// an interrupt allocates nothing.
/// </summary>
internal struct IoApicOutbox
{
    /// <summary>Pins whose guest-writable entry bits changed.</summary>
    public uint Changed;

    /// <summary>Pins to deliver.</summary>
    public uint Deliveries;

    /// <summary>Level pins whose remote IRR an EOI cleared.</summary>
    public uint Eois;

    /// <summary>Pins the storm guard just deferred.</summary>
    public uint Deferred;

    public IoApicEntryBuffer Entries;

    public readonly bool IsEmpty => (Changed | Deliveries | Eois | Deferred) == 0;

    public void Snapshot(RedirectionEntry[] entries)
    {
        if (IsEmpty)
            return;
        for (int pin = 0; pin < entries.Length && pin < IoApic.PinCount; pin++)
            Entries[pin] = entries[pin].Raw;
    }
}
