using System.Buffers.Binary;
using Ember.Devices.Bus;

namespace Ember.Devices.Tests.Legacy;

/// <summary>Little-endian register accessors for driving a device the way the bus does (data cleared before a read).</summary>
internal static class BusAccess
{
    public static byte ReadByte(this IBusDevice device, ulong offset)
    {
        var data = new byte[1];
        device.Read(offset, data);
        return data[0];
    }

    public static ushort ReadUInt16(this IBusDevice device, ulong offset)
    {
        var data = new byte[2];
        device.Read(offset, data);
        return BinaryPrimitives.ReadUInt16LittleEndian(data);
    }

    public static uint ReadUInt32(this IBusDevice device, ulong offset)
    {
        var data = new byte[4];
        device.Read(offset, data);
        return BinaryPrimitives.ReadUInt32LittleEndian(data);
    }

    public static ulong ReadUInt64(this IBusDevice device, ulong offset)
    {
        var data = new byte[8];
        device.Read(offset, data);
        return BinaryPrimitives.ReadUInt64LittleEndian(data);
    }

    public static void WriteByte(this IBusDevice device, ulong offset, byte value) => device.Write(offset, [value]);

    public static void WriteUInt16(this IBusDevice device, ulong offset, ushort value)
    {
        var data = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(data, value);
        device.Write(offset, data);
    }

    public static void WriteUInt32(this IBusDevice device, ulong offset, uint value)
    {
        var data = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(data, value);
        device.Write(offset, data);
    }

    public static void WriteUInt64(this IBusDevice device, ulong offset, ulong value)
    {
        var data = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(data, value);
        device.Write(offset, data);
    }
}
