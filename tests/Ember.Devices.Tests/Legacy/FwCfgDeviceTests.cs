using System.Buffers.Binary;
using Ember.Devices.Legacy;
using Xunit;

namespace Ember.Devices.Tests.Legacy;

public sealed class FwCfgDeviceTests
{
    private const ulong Selector = 0, Data = 1;
    private const ulong RamSize = 0x1_4000_0000; // 5 GiB

    private readonly FwCfgDevice _device = new(RamSize, cpuCount: 4, maxCpus: 8);

    private byte[] ReadItem(ushort key, int length)
    {
        _device.WriteUInt16(Selector, key);
        var bytes = new byte[length];
        for (int i = 0; i < length; i++)
            bytes[i] = _device.ReadByte(Data);
        return bytes;
    }

    [Fact]
    public void SignatureIsQemuThenZeros()
    {
        Assert.Equal("QEMU\0\0"u8.ToArray(), ReadItem(0x0000, 6));
    }

    [Fact]
    public void IdAdvertisesTraditionalInterfaceOnly()
    {
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(ReadItem(0x0001, 4)));
    }

    [Fact]
    public void RamSizeIsU64LittleEndian()
    {
        Assert.Equal(RamSize, BinaryPrimitives.ReadUInt64LittleEndian(ReadItem(0x0003, 8)));
    }

    [Fact]
    public void CpuCountsAreU16LittleEndian()
    {
        Assert.Equal(4, BinaryPrimitives.ReadUInt16LittleEndian(ReadItem(0x0005, 2)));
        Assert.Equal(8, BinaryPrimitives.ReadUInt16LittleEndian(ReadItem(0x000F, 2)));
    }

    [Theory]
    [InlineData(0x0002)]
    [InlineData(0x0019)]
    [InlineData(0x8003)]
    [InlineData(0xFFFF)]
    public void UnknownKeysReadZero(ushort key)
    {
        Assert.All(ReadItem(key, 8), b => Assert.Equal(0, b));
    }

    [Fact]
    public void SelectingAgainRewinds()
    {
        _ = ReadItem(0x0000, 3);

        Assert.Equal("QEMU"u8.ToArray(), ReadItem(0x0000, 4));
    }

    [Fact]
    public void OnlyTwoByteSelectorWritesSelect()
    {
        _device.WriteUInt16(Selector, 0x0000);
        _device.WriteByte(Selector, 0x05);
        _device.WriteUInt32(Selector, 0x0005);

        Assert.Equal((byte)'Q', _device.ReadByte(Data));
        Assert.Equal(2, _device.UnhandledAccesses);
    }

    [Fact]
    public void DataWritesAndWideDataReadsDoNothing()
    {
        _device.WriteUInt16(Selector, 0x0000);
        _device.WriteByte(Data, 0x00);

        Assert.Equal(0, _device.ReadUInt16(Selector));
        Assert.Equal((byte)'Q', _device.ReadByte(Data));
    }

    [Fact]
    public void StateRoundTripKeepsTheCursor()
    {
        _ = ReadItem(0x0000, 2);

        var restored = FwCfgDevice.FromState(_device.GetState(), RamSize, 4, 8);

        Assert.Equal((byte)'M', restored.ReadByte(Data));
    }
}
