namespace Ember.Devices.Timers;

/// <summary>What a counter's counting element is doing.</summary>
public enum PitPhase : byte
{
    /// <summary>A control word was written and no count yet (or mode 0 between the two count bytes).</summary>
    Idle = 0,

    /// <summary>A count was written but counting waits: for a gate trigger (modes 1, 5) or for the gate to rise (modes 2, 3).</summary>
    Waiting = 1,

    /// <summary>Counting; the count and OUT follow from the tick the count was loaded at.</summary>
    Running = 2,

    /// <summary>Mode 0 or 4 with the gate low: the count is frozen.</summary>
    Suspended = 3,
}
