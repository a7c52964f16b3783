using System.Runtime.InteropServices;

namespace Ember.Kvm;

/// <summary>Raw state of one in-kernel irqchip (<c>struct kvm_irqchip</c>, 520 bytes). Chip 0/1 are the PICs, 2 the IOAPIC.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct IrqchipState
{
    public const uint PicMaster = 0;
    public const uint PicSlave = 1;
    public const uint IoApic = 2;

    public uint ChipId;
    private uint _padding;
    public fixed byte Data[512];
}
