namespace Ember.Devices.Interrupts;

/// <summary>How the destination field is interpreted (82093AA §3.2.4 bit 11).</summary>
public enum DestinationMode : byte
{
    /// <summary>The destination is an APIC ID.</summary>
    Physical = 0,

    /// <summary>The destination is a set of processors matched against their logical destination registers.</summary>
    Logical = 1,
}
