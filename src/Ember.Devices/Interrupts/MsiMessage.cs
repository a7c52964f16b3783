namespace Ember.Devices.Interrupts;

/// <summary>
/// A message-signalled interrupt as the local APICs see it: a 32-bit write of <see cref="Data"/> to
/// <see cref="Address"/> (Intel SDM Vol. 3A §11.11, "Message Signalled Interrupts").
/// </summary>
public readonly record struct MsiMessage(ulong Address, uint Data);
