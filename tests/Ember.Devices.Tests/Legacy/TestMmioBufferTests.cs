using Ember.Devices.Legacy;
using Xunit;

namespace Ember.Devices.Tests.Legacy;

public sealed class TestMmioBufferTests
{
    private readonly TestMmioBuffer _buffer = new();

    [Fact]
    public void EveryWidthReadsBackAnywhereInside()
    {
        _buffer.WriteByte(0, 0x11);
        _buffer.WriteUInt16(0x101, 0x2233);
        _buffer.WriteUInt32(0x7FFF, 0x4455_6677);
        _buffer.WriteUInt64(TestMmioBuffer.Size - 8, 0x8899_AABB_CCDD_EEFF);

        Assert.Equal(0x11, _buffer.ReadByte(0));
        Assert.Equal(0x2233, _buffer.ReadUInt16(0x101));
        Assert.Equal(0x4455_6677u, _buffer.ReadUInt32(0x7FFF));
        Assert.Equal(0x8899_AABB_CCDD_EEFFUL, _buffer.ReadUInt64(TestMmioBuffer.Size - 8));
        Assert.Equal(0x77, _buffer.ReadByte(0x7FFF)); // little-endian overlap with byte access
    }

    [Fact]
    public void AccessRunningPastTheEndIsDroppedWhole()
    {
        _buffer.WriteUInt32(TestMmioBuffer.Size - 2, 0xFFFF_FFFF);

        Assert.Equal(0, _buffer.ReadUInt16(TestMmioBuffer.Size - 2));
        Assert.Equal(0u, _buffer.ReadUInt32(TestMmioBuffer.Size - 2));
        Assert.Equal(0, _buffer.ReadByte(ulong.MaxValue));
        Assert.Equal(3, _buffer.UnhandledAccesses);
    }

    [Fact]
    public void StateRoundTrip()
    {
        _buffer.WriteUInt64(0x1234, 0x0102_0304_0506_0708);

        var restored = TestMmioBuffer.FromState(_buffer.GetState());

        Assert.Equal(0x0102_0304_0506_0708UL, restored.ReadUInt64(0x1234));
        Assert.Throws<ArgumentException>(() => TestMmioBuffer.FromState(new TestMmioBufferState(new byte[16])));
    }
}
