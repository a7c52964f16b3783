using Ember.Devices.Legacy;
using Xunit;

namespace Ember.Devices.Tests.Legacy;

public sealed class DebugExitDeviceTests
{
    private readonly DebugExitDevice _device = new();
    private readonly List<byte> _values = [];

    public DebugExitDeviceTests() => _device.ExitRequested += _values.Add;

    [Fact]
    public void ByteWriteRaisesExitWithTheValue()
    {
        _device.WriteByte(0, 0x05);

        Assert.Equal([0x05], _values);
    }

    [Fact]
    public void WiderWritesAreTruncatedToTheLowByte()
    {
        _device.WriteUInt16(0, 0x1234);
        _device.WriteUInt32(0, 0xDEAD_BE01);

        Assert.Equal([0x34, 0x01], _values);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 3)]
    [InlineData(5, 11)]
    [InlineData(0x7F, 0xFF)]
    [InlineData(0xFF, 0x1FF)]
    public void ExitCodeIsValueShiftedLeftWithLowBitSet(byte value, int exitCode)
    {
        Assert.Equal(exitCode, DebugExitDevice.ExitCodeFor(value));
    }

    [Fact]
    public void OtherOffsetsAndWidthsAreIgnored()
    {
        _device.WriteByte(1, 0x01);
        _device.WriteUInt64(0, 1);
        _device.Write(0, new byte[3]);

        Assert.Empty(_values);
        Assert.Equal(3, _device.UnhandledAccesses);
        Assert.Equal(0, _device.ReadByte(0));
    }
}
