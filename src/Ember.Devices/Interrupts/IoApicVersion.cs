namespace Ember.Devices.Interrupts;

/// <summary>The value the IOAPIC reports in bits 7:0 of its version register.</summary>
public enum IoApicVersion : byte
{
    /// <summary>The original 82093AA (datasheet §3.2.2): no EOI register.</summary>
    I82093AA = 0x11,

    /// <summary>
    /// The later chipset IOAPIC (ICH/PCH) with a directed-EOI register at offset 0x40. Linux uses that
    /// register instead of the edge/level toggling trick when the version is 0x20 or higher.
    /// </summary>
    WithEoiRegister = 0x20,
}
