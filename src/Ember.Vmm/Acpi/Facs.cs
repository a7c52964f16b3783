using System.Buffers.Binary;

namespace Ember.Vmm.Acpi;

/// <summary>
/// Firmware ACPI Control Structure (ACPI 6.x §5.2.10, Table 5.14): 64 bytes, 64-byte aligned, no
/// checksum. Required when HW_REDUCED_ACPI is clear; it holds the global lock and the waking
/// vector (unused: Ember offers no sleep states other than S5).
/// </summary>
public static class Facs
{
    public const int Length = 64;

    /// <summary>The FACS must start on a 64-byte boundary.</summary>
    public const int Alignment = 64;

    public const string Signature = "FACS";
    public const int LengthOffset = 4;
    public const int HardwareSignatureOffset = 8;
    public const int FirmwareWakingVectorOffset = 12;
    public const int GlobalLockOffset = 16;
    public const int FlagsOffset = 20;
    public const int XFirmwareWakingVectorOffset = 24;
    public const int VersionOffset = 32;

    /// <summary>FACS version 2 (ACPI 4.0 and later).</summary>
    public const byte Version = 2;

    public static byte[] Encode()
    {
        var bytes = new byte[Length];
        AcpiTableHeader.WriteAscii(bytes, Signature, 4);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(LengthOffset), Length);
        bytes[VersionOffset] = Version;
        return bytes;
    }
}
