using Ember.Devices.Legacy;
using Xunit;

namespace Ember.Devices.Tests.Legacy;

public sealed class PcTestScratchRegisterTests
{
    private readonly PcTestScratchRegister _register = new();

    [Fact]
    public void DwordReadsBackAndSplitsIntoByteLanes()
    {
        _register.WriteUInt32(0, 0x1122_3344);

        Assert.Equal(0x1122_3344u, _register.ReadUInt32(0));
        Assert.Equal(0x44, _register.ReadByte(0));
        Assert.Equal(0x11, _register.ReadByte(3));
        Assert.Equal(0x2233, _register.ReadUInt16(1));
    }

    [Fact]
    public void NarrowWriteChangesOnlyItsLanes()
    {
        _register.WriteUInt32(0, 0x1122_3344);

        _register.WriteByte(2, 0xAA);
        _register.WriteUInt16(0, 0xBBCC);

        Assert.Equal(0x11AA_BBCCu, _register.Value);
    }

    [Theory]
    [InlineData(2UL, 4)]
    [InlineData(4UL, 1)]
    [InlineData(0UL, 8)]
    public void AccessesPastTheEndAreDropped(ulong offset, int width)
    {
        _register.WriteUInt32(0, 0x1122_3344);

        var data = new byte[width];
        Array.Fill(data, (byte)0xEE);
        _register.Write(offset, data);
        var read = new byte[width];
        _register.Read(offset, read);

        Assert.Equal(0x1122_3344u, _register.Value);
        Assert.All(read, b => Assert.Equal(0, b));
        Assert.Equal(2, _register.UnhandledAccesses);
    }

    [Fact]
    public void StateRoundTrip()
    {
        _register.WriteUInt32(0, 0xCAFE_F00D);

        Assert.Equal(0xCAFE_F00Du, PcTestScratchRegister.FromState(_register.GetState()).ReadUInt32(0));
    }
}
