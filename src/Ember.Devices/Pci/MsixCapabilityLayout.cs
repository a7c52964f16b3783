namespace Ember.Devices.Pci;

/// <summary>
/// The MSI-X capability's registers (PCI Local Bus 3.0 §6.8.2): offsets from the capability's ID byte
/// and the Message Control bits.
/// </summary>
public static class MsixCapabilityLayout
{
    /// <summary>Message Control, 16 bits.</summary>
    public const int MessageControl = 0x02;

    /// <summary>Table Offset (bits 31:3) and Table BIR (bits 2:0).</summary>
    public const int TableOffsetAndBir = 0x04;

    /// <summary>PBA Offset (bits 31:3) and PBA BIR (bits 2:0).</summary>
    public const int PbaOffsetAndBir = 0x08;

    /// <summary>The capability's length including its ID and Next bytes.</summary>
    public const int Length = 12;

    /// <summary>Message Control bits 10:0: table size minus one (read-only).</summary>
    public const ushort TableSizeMask = 0x07FF;

    /// <summary>Message Control bit 14: Function Mask.</summary>
    public const ushort FunctionMask = 1 << 14;

    /// <summary>Message Control bit 15: MSI-X Enable.</summary>
    public const ushort Enable = 1 << 15;

    /// <summary>The largest table the capability can describe.</summary>
    public const int MaximumVectors = TableSizeMask + 1;

    /// <summary>Bits 2:0 of the offset registers hold the BIR, so table and PBA are qword aligned.</summary>
    public const uint BirMask = 0x7;
}
