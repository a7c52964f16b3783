namespace Ember.Devices.Legacy;

/// <summary>Snapshot of a <see cref="PcTestScratchRegister"/>.</summary>
public sealed record PcTestScratchRegisterState(uint Value);
