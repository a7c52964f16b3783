namespace Ember.Devices.Interrupts;

/// <summary>Interrupt input pin polarity (82093AA §3.2.4 bit 13).</summary>
public enum PinPolarity : byte
{
    ActiveHigh = 0,
    ActiveLow = 1,
}
