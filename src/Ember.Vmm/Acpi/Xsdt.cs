using System.Buffers.Binary;

namespace Ember.Vmm.Acpi;

/// <summary>Extended System Description Table (ACPI 6.x §5.2.8): header plus 64-bit table pointers.</summary>
public static class Xsdt
{
    public const string Signature = "XSDT";
    public const byte Revision = 1;
    public const int EntriesOffset = AcpiTableHeader.Size;

    public static byte[] Encode(IReadOnlyList<ulong> tableAddresses)
    {
        ArgumentNullException.ThrowIfNull(tableAddresses);
        var bytes = new byte[AcpiTableHeader.Size + 8 * tableAddresses.Count];
        AcpiTableHeader.Write(bytes, Signature, Revision);
        for (int i = 0; i < tableAddresses.Count; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(EntriesOffset + 8 * i), tableAddresses[i]);
        }
        AcpiTableHeader.Seal(bytes);
        return bytes;
    }
}
