using System.Collections.Immutable;

namespace Ember.Devices.Interrupts;

/// <summary>
/// Everything an <see cref="IoApic"/> needs to resume: the guest-visible registers and the levels of its
/// input pins. Storm-guard counters are not saved; a restored IOAPIC starts them from zero.
/// </summary>
/// <param name="PinLevels">Bit n set when input pin n is asserted.</param>
/// <param name="DeferredPins">Bit n set when pin n waits for <see cref="IoApic.RetryDeferred"/>.</param>
public sealed record IoApicState(
    IoApicVersion Version,
    byte Id,
    byte RegisterSelect,
    ImmutableArray<ulong> RedirectionEntries,
    uint PinLevels,
    uint DeferredPins);
