using System.Buffers.Binary;
using Ember.Memory;

namespace Ember.Vmm.Boot;

/// <summary>
/// The boot GDT at <see cref="Layout.BootGdt"/>: null, null, code at 0x10, data at 0x18 and a
/// 16-byte TSS descriptor at 0x20. 0x10/0x18 are Linux's __BOOT_CS/__BOOT_DS (boot.rst); PVH
/// and Multiboot leave the selector values unspecified, so one layout serves every protocol.
/// </summary>
internal static class BootGdt
{
    public const ushort CodeSelector = 0x10;
    public const ushort DataSelector = 0x18;
    public const ushort TaskSelector = 0x20;

    /// <summary>Six 8-byte slots; the TSS descriptor takes two (a long-mode system descriptor is 16 bytes).</summary>
    private const int SlotCount = 6;
    private const int SlotSize = 8;

    public static DescriptorTableRegister Write(IGuestMemory memory, SegmentDescriptor code, SegmentDescriptor data, SegmentDescriptor task)
    {
        Span<byte> table = stackalloc byte[SlotCount * SlotSize];
        table.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(table[(code.Selector)..], code.ToGdtEntry());
        BinaryPrimitives.WriteUInt64LittleEndian(table[(data.Selector)..], data.ToGdtEntry());
        BinaryPrimitives.WriteUInt64LittleEndian(table[(task.Selector)..], task.ToGdtEntry());
        BinaryPrimitives.WriteUInt64LittleEndian(table[(task.Selector + SlotSize)..], task.ToGdtEntryHigh());
        GuestRam.Write(memory, Layout.BootGdt, table, "boot GDT");
        return new DescriptorTableRegister(Layout.BootGdt, (ushort)(table.Length - 1));
    }
}
