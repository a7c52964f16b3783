using System.Buffers.Binary;

namespace Ember.Vmm.Acpi;

/// <summary>
/// Multiple APIC Description Table (ACPI 6.x §5.2.12): local APIC address and PCAT_COMPAT,
/// one enabled Processor Local APIC per vCPU (APIC ID = ACPI UID = vCPU index), the IOAPIC
/// with GSI base 0, the ISA overrides every PC has (PIT IRQ 0 on GSI 2; the SCI level-high on
/// GSI 9), and LINT1 as NMI on all processors.
/// </summary>
public static class Madt
{
    public const string Signature = "APIC";

    /// <summary>Revision 5: ACPI 6.3, which defined the local APIC online-capable flag.</summary>
    public const byte Revision = 5;

    public const int LocalApicAddressOffset = 36;
    public const int FlagsOffset = 40;
    public const int EntriesOffset = 44;

    /// <summary>PCAT_COMPAT: the system also has dual 8259 PICs (to be masked when the APICs are used).</summary>
    public const uint FlagPcatCompat = 1;

    // Interrupt controller structure types (Table 5.21) and lengths.
    public const byte TypeLocalApic = 0;
    public const byte TypeIoApic = 1;
    public const byte TypeInterruptSourceOverride = 2;
    public const byte TypeLocalApicNmi = 4;
    public const byte LocalApicLength = 8;
    public const byte IoApicLength = 12;
    public const byte InterruptSourceOverrideLength = 10;
    public const byte LocalApicNmiLength = 6;

    /// <summary>Local APIC flags bit 0: the processor is usable.</summary>
    public const uint LocalApicEnabled = 1;

    // MPS INTI flags (Table 5.26): polarity in bits 0-1, trigger mode in bits 2-3.
    public const ushort PolarityActiveHigh = 0b01;
    public const ushort TriggerEdge = 0b01 << 2;
    public const ushort TriggerLevel = 0b11 << 2;

    /// <summary>ISA bus number in an Interrupt Source Override.</summary>
    public const byte BusIsa = 0;

    /// <summary>ACPI processor UID 0xFF in a Local APIC NMI structure means "all processors".</summary>
    public const byte AllProcessors = 0xFF;

    /// <summary>The LINT pin wired to NMI on a PC.</summary>
    public const byte NmiLint = 1;

    /// <summary>IOAPIC pin the PIT's ISA IRQ 0 arrives on (the 8259's IRQ 2 cascade pin is free on the IOAPIC).</summary>
    public const uint PitGsi = 2;

    /// <summary>
    /// xAPIC IDs are 8 bits and 0xFF is the broadcast ID; the 8-bit UID 0xFF means "all
    /// processors" in the NMI entry. So at most 254 vCPUs (IDs 0-253) fit these structures.
    /// </summary>
    public const int MaxProcessors = 254;

    public static byte[] Encode(int vcpuCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vcpuCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(vcpuCount, MaxProcessors);

        int length = EntriesOffset + vcpuCount * LocalApicLength + IoApicLength + 2 * InterruptSourceOverrideLength + LocalApicNmiLength;
        var bytes = new byte[length];
        var span = bytes.AsSpan();
        AcpiTableHeader.Write(span, Signature, Revision);
        BinaryPrimitives.WriteUInt32LittleEndian(span[LocalApicAddressOffset..], (uint)Layout.LocalApicBase);
        BinaryPrimitives.WriteUInt32LittleEndian(span[FlagsOffset..], FlagPcatCompat);

        int at = EntriesOffset;
        for (int cpu = 0; cpu < vcpuCount; cpu++)
        {
            span[at] = TypeLocalApic;
            span[at + 1] = LocalApicLength;
            span[at + 2] = (byte)cpu;   // ACPI processor UID
            span[at + 3] = (byte)cpu;   // APIC ID
            BinaryPrimitives.WriteUInt32LittleEndian(span[(at + 4)..], LocalApicEnabled);
            at += LocalApicLength;
        }

        span[at] = TypeIoApic;
        span[at + 1] = IoApicLength;
        span[at + 2] = Layout.IoApicId;
        span[at + 3] = 0;           // reserved
        BinaryPrimitives.WriteUInt32LittleEndian(span[(at + 4)..], (uint)Layout.IoApicBase);
        BinaryPrimitives.WriteUInt32LittleEndian(span[(at + 8)..], 0); // global system interrupt base
        at += IoApicLength;

        at = WriteOverride(span, at, Layout.PitIrq, PitGsi, PolarityActiveHigh | TriggerEdge);
        at = WriteOverride(span, at, Layout.SciIrq, Layout.SciIrq, PolarityActiveHigh | TriggerLevel);

        span[at] = TypeLocalApicNmi;
        span[at + 1] = LocalApicNmiLength;
        span[at + 2] = AllProcessors;
        BinaryPrimitives.WriteUInt16LittleEndian(span[(at + 3)..], PolarityActiveHigh | TriggerEdge);
        span[at + 5] = NmiLint;

        AcpiTableHeader.Seal(span);
        return bytes;
    }

    private static int WriteOverride(Span<byte> span, int at, byte source, uint gsi, ushort flags)
    {
        span[at] = TypeInterruptSourceOverride;
        span[at + 1] = InterruptSourceOverrideLength;
        span[at + 2] = BusIsa;
        span[at + 3] = source;
        BinaryPrimitives.WriteUInt32LittleEndian(span[(at + 4)..], gsi);
        BinaryPrimitives.WriteUInt16LittleEndian(span[(at + 8)..], flags);
        return at + InterruptSourceOverrideLength;
    }
}
