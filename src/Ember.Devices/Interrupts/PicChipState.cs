namespace Ember.Devices.Interrupts;

/// <summary>The registers and modes of one <see cref="Pic8259"/>.</summary>
/// <param name="EdgeRequests">Latched rising edges (the IRR bits of edge-triggered inputs).</param>
/// <param name="InputLevels">The current level of each IR input.</param>
/// <param name="LevelTriggeredInputs">Inputs treated as level-triggered (from the ELCR).</param>
public sealed record PicChipState(
    byte EdgeRequests,
    byte InputLevels,
    byte InService,
    byte Mask,
    byte VectorBase,
    byte Icw1,
    byte Icw3,
    byte Icw4,
    PicInitStep InitStep,
    bool Initialized,
    bool ReadInService,
    bool PollPending,
    bool SpecialMask,
    bool RotateOnAutoEoi,
    byte LowestPriority,
    byte LevelTriggeredInputs);
