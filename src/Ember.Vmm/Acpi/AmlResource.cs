using System.Buffers.Binary;

namespace Ember.Vmm.Acpi;

/// <summary>
/// Resource descriptors for _CRS buffers (ACPI 6.x §6.4 "Resource Data Types for ACPI"): the
/// small I/O port and IRQ descriptors and the end tag, the large fixed-memory and address space
/// descriptors a PCI root bridge describes its windows with, plus the ResourceTemplate wrapper.
/// </summary>
public static class AmlResource
{
    /// <summary>Small item tag: IRQ descriptor without the information byte (type 0x04, length 2).</summary>
    public const byte IrqNoFlagsTag = 0x22;

    /// <summary>Small item tag: I/O port descriptor (type 0x08, length 7).</summary>
    public const byte IoPortTag = 0x47;

    /// <summary>Small item tag: end tag (type 0x0F, length 1).</summary>
    public const byte EndTag = 0x79;

    /// <summary>Large item: 32-bit fixed memory range descriptor (§6.4.3.4, length 9).</summary>
    public const byte Memory32FixedTag = 0x86;

    /// <summary>Large item: DWord address space descriptor (§6.4.3.5.2, length 23).</summary>
    public const byte DWordAddressTag = 0x87;

    /// <summary>Large item: Word address space descriptor (§6.4.3.5.3, length 13).</summary>
    public const byte WordAddressTag = 0x88;

    /// <summary>Large item: QWord address space descriptor (§6.4.3.5.1, length 43).</summary>
    public const byte QWordAddressTag = 0x8A;

    /// <summary>Address space resource types (Table 6.49): memory, I/O, bus number.</summary>
    public const byte MemoryRange = 0, IoRange = 1, BusNumberRange = 2;

    /// <summary>
    /// General flags of a bridge window (Table 6.49): minimum and maximum fixed (bits 2 and 3), positive
    /// decode, and bit 0 clear: the bridge produces the range for the devices below it.
    /// </summary>
    public const byte FixedWindowFlags = 0x0C;

    /// <summary>Memory type-specific flags: read-write (bit 0), non-cacheable (bits 2:1 = 0).</summary>
    public const byte MemoryReadWriteNonCacheable = 0x01;

    /// <summary>I/O type-specific flags: ISA and non-ISA ranges (bits 1:0 = 3).</summary>
    public const byte IoEntireRange = 0x03;

    /// <summary>I/O descriptor information bit 0: the device decodes 16 address bits.</summary>
    public const byte Decode16 = 0x01;

    /// <summary>IO(Decode16, min, max, alignment, length) (§6.4.2.5).</summary>
    public static byte[] IoPort16(ushort minimum, ushort maximum, byte alignment, byte length) =>
        [IoPortTag, Decode16, (byte)minimum, (byte)(minimum >> 8), (byte)maximum, (byte)(maximum >> 8), alignment, length];

    /// <summary>IRQNoFlags(){irqs} (§6.4.2.1): a 16-bit mask of ISA IRQs, edge-triggered active high.</summary>
    public static byte[] IrqNoFlags(params int[] irqs)
    {
        ushort mask = 0;
        foreach (int irq in irqs)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(irq);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(irq, 15);
            mask |= (ushort)(1 << irq);
        }
        return [IrqNoFlagsTag, (byte)mask, (byte)(mask >> 8)];
    }

    /// <summary>Memory32Fixed(ReadWrite, base, length) (§6.4.3.4).</summary>
    public static byte[] Memory32Fixed(uint baseAddress, uint length)
    {
        var d = new byte[12];
        d[0] = Memory32FixedTag;
        BinaryPrimitives.WriteUInt16LittleEndian(d.AsSpan(1), 9);
        d[3] = 0x01;
        BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(4), baseAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(8), length);
        return d;
    }

    /// <summary>WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, first, last, 0, count).</summary>
    public static byte[] WordBusNumber(ushort first, ushort last) => WordAddress(BusNumberRange, 0, first, last);

    /// <summary>WordIO(ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0, first, last, 0, length).</summary>
    public static byte[] WordIo(ushort first, ushort last) => WordAddress(IoRange, IoEntireRange, first, last);

    /// <summary>DWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite, 0, first, last, 0, length).</summary>
    public static byte[] DWordMemory(uint first, uint last)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(last, first);
        var d = new byte[26];
        d[0] = DWordAddressTag;
        BinaryPrimitives.WriteUInt16LittleEndian(d.AsSpan(1), 23);
        d[3] = MemoryRange;
        d[4] = FixedWindowFlags;
        d[5] = MemoryReadWriteNonCacheable;
        // Granularity (d[6..10]) and translation offset (d[18..22]) stay 0.
        BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(10), first);
        BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(14), last);
        BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(22), last - first + 1);
        return d;
    }

    /// <summary>QWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite, 0, first, last, 0, length).</summary>
    public static byte[] QWordMemory(ulong first, ulong last)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(last, first);
        var d = new byte[46];
        d[0] = QWordAddressTag;
        BinaryPrimitives.WriteUInt16LittleEndian(d.AsSpan(1), 43);
        d[3] = MemoryRange;
        d[4] = FixedWindowFlags;
        d[5] = MemoryReadWriteNonCacheable;
        BinaryPrimitives.WriteUInt64LittleEndian(d.AsSpan(14), first);
        BinaryPrimitives.WriteUInt64LittleEndian(d.AsSpan(22), last);
        BinaryPrimitives.WriteUInt64LittleEndian(d.AsSpan(38), last - first + 1);
        return d;
    }

    private static byte[] WordAddress(byte resourceType, byte typeFlags, ushort first, ushort last)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(last, first);
        var d = new byte[16];
        d[0] = WordAddressTag;
        BinaryPrimitives.WriteUInt16LittleEndian(d.AsSpan(1), 13);
        d[3] = resourceType;
        d[4] = FixedWindowFlags;
        d[5] = typeFlags;
        BinaryPrimitives.WriteUInt16LittleEndian(d.AsSpan(8), first);
        BinaryPrimitives.WriteUInt16LittleEndian(d.AsSpan(10), last);
        BinaryPrimitives.WriteUInt16LittleEndian(d.AsSpan(14), (ushort)(last - first + 1));
        return d;
    }

    /// <summary>
    /// ResourceTemplate(){descriptors}: a Buffer of the descriptors plus an end tag whose
    /// checksum byte is 0 ("treat as correct", §6.4.2.9).
    /// </summary>
    public static byte[] Template(params byte[][] descriptors) =>
        Aml.Buffer([.. descriptors.SelectMany(d => d), EndTag, 0]);
}
