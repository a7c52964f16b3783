namespace Ember.Devices.Interrupts;

/// <summary>Whether an input is edge- or level-sensitive (82093AA §3.2.4 bit 15).</summary>
public enum TriggerMode : byte
{
    Edge = 0,
    Level = 1,
}
