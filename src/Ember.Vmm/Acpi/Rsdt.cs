using System.Buffers.Binary;

namespace Ember.Vmm.Acpi;

/// <summary>
/// Root System Description Table (ACPI 6.x §5.2.7): header plus 32-bit table pointers. Kept
/// beside the XSDT for guests that only read ACPI 1.0 structures (small test kernels).
/// </summary>
public static class Rsdt
{
    public const string Signature = "RSDT";
    public const byte Revision = 1;
    public const int EntriesOffset = AcpiTableHeader.Size;

    public static byte[] Encode(IReadOnlyList<uint> tableAddresses)
    {
        ArgumentNullException.ThrowIfNull(tableAddresses);
        var bytes = new byte[AcpiTableHeader.Size + 4 * tableAddresses.Count];
        AcpiTableHeader.Write(bytes, Signature, Revision);
        for (int i = 0; i < tableAddresses.Count; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(EntriesOffset + 4 * i), tableAddresses[i]);
        }
        AcpiTableHeader.Seal(bytes);
        return bytes;
    }
}
