namespace Ember.Vmm.Acpi;

/// <summary>
/// Resource descriptors for _CRS buffers (ACPI 6.x §6.4 "Resource Data Types for ACPI"): the
/// small I/O port and IRQ descriptors and the end tag, plus the ResourceTemplate wrapper.
/// </summary>
public static class AmlResource
{
    /// <summary>Small item tag: IRQ descriptor without the information byte (type 0x04, length 2).</summary>
    public const byte IrqNoFlagsTag = 0x22;

    /// <summary>Small item tag: I/O port descriptor (type 0x08, length 7).</summary>
    public const byte IoPortTag = 0x47;

    /// <summary>Small item tag: end tag (type 0x0F, length 1).</summary>
    public const byte EndTag = 0x79;

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

    /// <summary>
    /// ResourceTemplate(){descriptors}: a Buffer of the descriptors plus an end tag whose
    /// checksum byte is 0 ("treat as correct", §6.4.2.9).
    /// </summary>
    public static byte[] Template(params byte[][] descriptors) =>
        Aml.Buffer([.. descriptors.SelectMany(d => d), EndTag, 0]);
}
