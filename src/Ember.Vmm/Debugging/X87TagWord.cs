using System.Buffers.Binary;

namespace Ember.Vmm.Debugging;

/// <summary>
/// Converts between the x87 tag word GDB shows (two bits per physical register: 0 valid, 1 zero, 2 special,
/// 3 empty) and the abridged form FXSAVE and KVM_GET_FPU keep (one bit per physical register: 1 not empty).
/// The full tag of a non-empty register is read off its value (Intel SDM vol. 1, §8.1.7 and FXSAVE in vol. 2A).
/// </summary>
internal static class X87TagWord
{
    private const int Empty = 3, Special = 2, Zero = 1, Valid = 0;

    /// <param name="abridged">FXSAVE's tag byte.</param>
    /// <param name="statusWord">FSW, whose TOP field (bits 11-13) maps physical registers to ST(i).</param>
    /// <param name="stackRegisters">The eight 16-byte ST(i) slots in FXSAVE order (ST(0) first).</param>
    public static ushort ToFull(byte abridged, ushort statusWord, ReadOnlySpan<byte> stackRegisters)
    {
        int top = (statusWord >> 11) & 7;
        int full = 0;
        for (int physical = 0; physical < 8; physical++)
        {
            int tag = Empty;
            if ((abridged >> physical & 1) != 0)
            {
                var value = stackRegisters.Slice(((physical - top) & 7) * 16, 10);
                ulong mantissa = BinaryPrimitives.ReadUInt64LittleEndian(value);
                int exponent = BinaryPrimitives.ReadUInt16LittleEndian(value[8..]) & 0x7FFF;
                tag = exponent switch
                {
                    0x7FFF => Special,
                    0 => mantissa == 0 ? Zero : Special,
                    _ => (mantissa >> 63) == 0 ? Special : Valid,
                };
            }
            full |= tag << (2 * physical);
        }
        return (ushort)full;
    }

    public static byte ToAbridged(ushort full)
    {
        int abridged = 0;
        for (int physical = 0; physical < 8; physical++)
        {
            if ((full >> (2 * physical) & 3) != Empty)
                abridged |= 1 << physical;
        }
        return (byte)abridged;
    }
}
