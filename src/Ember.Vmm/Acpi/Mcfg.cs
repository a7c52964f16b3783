using System.Buffers.Binary;

namespace Ember.Vmm.Acpi;

/// <summary>
/// PCI Express memory-mapped configuration space table (PCI Firmware Specification 3.x §4.1.2): the
/// header, 8 reserved bytes, then one 16-byte allocation per ECAM region: base address, PCI segment,
/// first and last bus. Ember has one region, segment 0, covering <see cref="Layout.PciBusCount"/> buses.
/// </summary>
public static class Mcfg
{
    public const string Signature = "MCFG";
    public const byte Revision = 1;
    public const int AllocationsOffset = AcpiTableHeader.Size + 8;
    public const int AllocationLength = 16;

    public static byte[] Encode()
    {
        var bytes = new byte[AllocationsOffset + AllocationLength];
        AcpiTableHeader.Write(bytes, Signature, Revision);
        var allocation = bytes.AsSpan(AllocationsOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(allocation, Layout.PciEcamBase);
        BinaryPrimitives.WriteUInt16LittleEndian(allocation[8..], 0);
        allocation[10] = 0;
        allocation[11] = Layout.PciBusCount - 1;
        AcpiTableHeader.Seal(bytes);
        return bytes;
    }
}
