using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Ember.Kvm;

/// <summary>
/// The local APIC register page as KVM_GET_LAPIC returns it (<c>struct kvm_lapic_state</c>,
/// 1024 bytes laid out as the architecture manual's APIC page: register at offset N).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct LapicState
{
    public const int Size = 1024;

    /// <summary>LVT LINT1 register offset (Intel SDM vol. 3 §11.5.1).</summary>
    public const int LvtLint1Offset = 0x360;
    /// <summary>LVT LINT0 register offset.</summary>
    public const int LvtLint0Offset = 0x350;
    /// <summary>Spurious interrupt vector register; bit 8 is the APIC software enable.</summary>
    public const int SpuriousVectorOffset = 0xF0;
    /// <summary>APIC ID register.</summary>
    public const int IdOffset = 0x20;

    public fixed byte Registers[Size];

    public readonly uint ReadRegister(int offset)
    {
        if ((uint)offset > Size - 4)
            throw new ArgumentOutOfRangeException(nameof(offset));
        fixed (byte* p = Registers)
            return BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(p + offset, 4));
    }

    public void WriteRegister(int offset, uint value)
    {
        if ((uint)offset > Size - 4)
            throw new ArgumentOutOfRangeException(nameof(offset));
        fixed (byte* p = Registers)
            BinaryPrimitives.WriteUInt32LittleEndian(new Span<byte>(p + offset, 4), value);
    }
}
