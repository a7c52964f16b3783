using System.Runtime.CompilerServices;

namespace Ember.Devices.Interrupts;

/// <summary>Room for one raw redirection entry per pin, inline in <see cref="IoApicOutbox"/>.</summary>
[InlineArray(IoApic.PinCount)]
internal struct IoApicEntryBuffer
{
    private ulong _element0;
}
