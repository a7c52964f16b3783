using Ember.Devices.Interrupts;

namespace Ember.Devices.Pci;

/// <summary>
/// One 16-byte MSI-X table entry (PCI Local Bus 3.0 §6.8.2.6–§6.8.2.9): Message Address (low dword, its two
/// low bits hardwired to 0), Message Upper Address, Message Data, and Vector Control, of which only bit 0
/// (Mask Bit) is implemented. After reset every entry is masked.
/// </summary>
public readonly record struct MsixTableEntry(uint AddressLow, uint AddressHigh, uint Data, uint VectorControl)
{
    /// <summary>The entry's size in the table.</summary>
    public const int Size = 16;

    /// <summary>Vector Control bit 0.</summary>
    public const uint MaskBit = 1;

    /// <summary>The state after reset: all zero but the mask bit.</summary>
    public static MsixTableEntry Reset => new(0, 0, 0, MaskBit);

    public bool Masked => (VectorControl & MaskBit) != 0;

    public MsiMessage Message => new((ulong)AddressHigh << 32 | AddressLow, Data);
}
