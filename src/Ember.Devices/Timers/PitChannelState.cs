namespace Ember.Devices.Timers;

/// <summary>
/// One 8254 counter. Tick fields count 1.193182 MHz input clocks on the owning PIT's time base; a
/// <see cref="PitState"/> carries the tick it was taken at so a restore can shift them.
/// </summary>
public sealed record PitChannelState(
    byte ControlBits,
    int Reload,
    bool Gate,
    bool WriteMsbNext,
    byte WriteLsb,
    bool ReadMsbNext,
    bool CountLatched,
    ushort LatchedCount,
    bool LatchedMsbNext,
    bool StatusLatched,
    byte LatchedStatus,
    PitPhase Phase,
    long BaseTick,
    int BaseCount,
    bool TerminalPassed,
    int HeldCount,
    bool IdleOutput,
    int PendingReload,
    long PendingTick,
    bool NullCount,
    long NullClearsAtTick);
