using System.Buffers.Binary;
using System.Text;

namespace Ember.Vmm.Acpi;

/// <summary>
/// The 36-byte System Description Table Header every table but the RSDP and FACS starts with
/// (ACPI 6.x §5.2.6, Table 5.4), and Ember's OEM identification.
/// </summary>
public static class AcpiTableHeader
{
    public const int Size = 36;
    public const int SignatureOffset = 0;
    public const int LengthOffset = 4;
    public const int RevisionOffset = 8;
    public const int ChecksumOffset = 9;
    public const int OemIdOffset = 10;
    public const int OemTableIdOffset = 16;
    public const int OemRevisionOffset = 24;
    public const int CreatorIdOffset = 28;
    public const int CreatorRevisionOffset = 32;

    /// <summary>OEM ID, 6 characters.</summary>
    public const string OemId = "EMBER ";

    /// <summary>OEM table ID, 8 characters.</summary>
    public const string OemTableId = "EMBERVM ";

    public const uint OemRevision = 1;

    /// <summary>Creator ID: the vendor of the tool that made the table, 4 characters.</summary>
    public const string CreatorId = "EMBR";

    public const uint CreatorRevision = 1;

    /// <summary>
    /// Fills the header of <paramref name="table"/> (whose length is the table length) with
    /// checksum 0; call <see cref="Seal"/> once the body is complete.
    /// </summary>
    public static void Write(Span<byte> table, string signature, byte revision)
    {
        WriteAscii(table[SignatureOffset..], signature, 4);
        BinaryPrimitives.WriteUInt32LittleEndian(table[LengthOffset..], (uint)table.Length);
        table[RevisionOffset] = revision;
        table[ChecksumOffset] = 0;
        WriteAscii(table[OemIdOffset..], OemId, 6);
        WriteAscii(table[OemTableIdOffset..], OemTableId, 8);
        BinaryPrimitives.WriteUInt32LittleEndian(table[OemRevisionOffset..], OemRevision);
        WriteAscii(table[CreatorIdOffset..], CreatorId, 4);
        BinaryPrimitives.WriteUInt32LittleEndian(table[CreatorRevisionOffset..], CreatorRevision);
    }

    /// <summary>Sets the checksum so the table sums to zero.</summary>
    public static void Seal(Span<byte> table) => AcpiChecksum.Apply(table, ChecksumOffset);

    internal static void WriteAscii(Span<byte> destination, string text, int length)
    {
        if (text.Length != length)
        {
            throw new ArgumentException($"\"{text}\" must be exactly {length} characters", nameof(text));
        }
        Encoding.ASCII.GetBytes(text, destination[..length]);
    }
}
