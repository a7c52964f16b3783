namespace Ember.Devices.Pci;

/// <summary>What a Base Address Register decodes (PCI Local Bus 3.0 §6.2.5.1).</summary>
public enum PciBarKind
{
    /// <summary>A memory BAR anywhere in the 32-bit address space (type 00b).</summary>
    Memory32,

    /// <summary>A memory BAR anywhere in the 64-bit address space (type 10b); it takes two BAR slots.</summary>
    Memory64,

    /// <summary>An I/O BAR (bit 0 set). Ember's functions decode 16 bits of port address, as x86 has.</summary>
    Io,
}
