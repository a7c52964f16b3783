using System.Runtime.InteropServices;

namespace Ember.Kvm;

/// <summary>
/// One entry of the GSI routing table (<c>struct kvm_irq_routing_entry</c>, 48 bytes):
/// either an in-kernel irqchip pin or an MSI message. With a split irqchip only MSI entries
/// are allowed, and the first N GSIs are the user-space IOAPIC's pins.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 48)]
public struct GsiRoutingEntry
{
    public const uint TypeIrqchip = 1;
    public const uint TypeMsi = 2;

    [FieldOffset(0)] public uint Gsi;
    [FieldOffset(4)] public uint Type;
    [FieldOffset(8)] public uint Flags;
    [FieldOffset(16)] public uint IrqchipOrAddressLo;
    [FieldOffset(20)] public uint PinOrAddressHi;
    [FieldOffset(24)] public uint MsiData;
    [FieldOffset(28)] public uint MsiDevId;

    public static GsiRoutingEntry Irqchip(uint gsi, uint irqchip, uint pin) =>
        new() { Gsi = gsi, Type = TypeIrqchip, IrqchipOrAddressLo = irqchip, PinOrAddressHi = pin };

    public static GsiRoutingEntry Msi(uint gsi, ulong address, uint data) =>
        new() { Gsi = gsi, Type = TypeMsi, IrqchipOrAddressLo = (uint)address, PinOrAddressHi = (uint)(address >> 32), MsiData = data };

    public override readonly string ToString() => Type == TypeMsi
        ? $"GSI {Gsi} -> MSI addr=0x{((ulong)PinOrAddressHi << 32) | IrqchipOrAddressLo:x} data=0x{MsiData:x}"
        : $"GSI {Gsi} -> irqchip {IrqchipOrAddressLo} pin {PinOrAddressHi}";
}
