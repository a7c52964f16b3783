using System.Buffers.Binary;

namespace Ember.Vmm.Acpi;

/// <summary>
/// Root System Description Pointer, revision 2 (ACPI 6.x §5.2.5.3, Table 5.3): 36 bytes, a
/// checksum over the first 20 (the ACPI 1.0 part) and an extended checksum over all 36.
/// </summary>
public static class Rsdp
{
    public const int Length = 36;

    /// <summary>Bytes covered by <see cref="ChecksumOffset"/>'s checksum (the ACPI 1.0 structure).</summary>
    public const int V1Length = 20;

    public const string Signature = "RSD PTR ";
    public const int SignatureOffset = 0;
    public const int ChecksumOffset = 8;
    public const int OemIdOffset = 9;
    public const int RevisionOffset = 15;
    public const int RsdtAddressOffset = 16;
    public const int LengthOffset = 20;
    public const int XsdtAddressOffset = 24;
    public const int ExtendedChecksumOffset = 32;

    /// <summary>Revision 2: ACPI 2.0 and later, has the XSDT pointer.</summary>
    public const byte Revision = 2;

    public static byte[] Encode(uint rsdtAddress, ulong xsdtAddress)
    {
        var bytes = new byte[Length];
        var span = bytes.AsSpan();
        AcpiTableHeader.WriteAscii(span[SignatureOffset..], Signature, 8);
        AcpiTableHeader.WriteAscii(span[OemIdOffset..], AcpiTableHeader.OemId, 6);
        span[RevisionOffset] = Revision;
        BinaryPrimitives.WriteUInt32LittleEndian(span[RsdtAddressOffset..], rsdtAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(span[LengthOffset..], Length);
        BinaryPrimitives.WriteUInt64LittleEndian(span[XsdtAddressOffset..], xsdtAddress);
        AcpiChecksum.Apply(span[..V1Length], ChecksumOffset);
        AcpiChecksum.Apply(span, ExtendedChecksumOffset);
        return bytes;
    }
}
