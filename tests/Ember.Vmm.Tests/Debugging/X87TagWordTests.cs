using Ember.Vmm.Debugging;

namespace Ember.Vmm.Tests.Debugging;

public sealed class X87TagWordTests
{
    [Fact]
    public void TheFullTagOfEachNonEmptyRegisterComesFromItsValueAndTheStackTop()
    {
        // TOP = 6: ST(0) is physical register 6, ST(1) is 7, ST(2) is 0.
        var stack = new byte[8 * 16];
        void Set(int st, ulong mantissa, ushort exponent)
        {
            BitConverter.GetBytes(mantissa).CopyTo(stack, st * 16);
            BitConverter.GetBytes(exponent).CopyTo(stack, st * 16 + 8);
        }
        Set(0, 0x8000_0000_0000_0000, 0x3FFF); // 1.0: valid
        Set(1, 0, 0);                          // +0: zero
        Set(2, 0xC000_0000_0000_0000, 0x7FFF); // NaN: special
        Set(3, 0x4000_0000_0000_0000, 0x3FFF); // unnormal (no integer bit): special
        ushort statusWord = 6 << 11;
        // Physical 6, 7, 0 and 1 in use (ST(0) to ST(3)); 2 to 5 empty.
        byte abridged = 0b1100_0011;
        ushort full = X87TagWord.ToFull(abridged, statusWord, stack);
        Assert.Equal(0b00, full >> 12 & 3);  // physical 6 = ST(0)
        Assert.Equal(0b01, full >> 14 & 3);  // physical 7 = ST(1)
        Assert.Equal(0b10, full & 3);        // physical 0 = ST(2)
        Assert.Equal(0b10, full >> 2 & 3);   // physical 1 = ST(3)
        Assert.Equal(0b11_11_11_11, full >> 4 & 0xFF);
        Assert.Equal(abridged, X87TagWord.ToAbridged(full));
    }

    [Fact]
    public void AnEmptyStackIsAllThrees() => Assert.Equal(0xFFFF, X87TagWord.ToFull(0, 0, new byte[128]));
}
