namespace Ember.Devices.Interrupts;

/// <summary>The state of a <see cref="DualPic"/>: both chips and the two ELCR bytes.</summary>
public sealed record PicState(PicChipState Master, PicChipState Slave, byte ElcrMaster, byte ElcrSlave);
