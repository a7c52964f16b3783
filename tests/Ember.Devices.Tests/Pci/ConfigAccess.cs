using System.Buffers.Binary;
using Ember.Devices.Pci;

namespace Ember.Devices.Tests.Pci;

/// <summary>Little-endian guest accesses to a configuration space, through its write masks.</summary>
internal static class ConfigAccess
{
    public static byte GuestRead8(this PciConfigSpace space, int offset)
    {
        var data = new byte[1];
        space.Read(offset, data);
        return data[0];
    }

    public static ushort GuestRead16(this PciConfigSpace space, int offset)
    {
        var data = new byte[2];
        space.Read(offset, data);
        return BinaryPrimitives.ReadUInt16LittleEndian(data);
    }

    public static uint GuestRead32(this PciConfigSpace space, int offset)
    {
        var data = new byte[4];
        space.Read(offset, data);
        return BinaryPrimitives.ReadUInt32LittleEndian(data);
    }

    public static void GuestWrite8(this PciConfigSpace space, int offset, byte value) => space.Write(offset, [value]);

    public static void GuestWrite16(this PciConfigSpace space, int offset, ushort value)
    {
        var data = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(data, value);
        space.Write(offset, data);
    }

    public static void GuestWrite32(this PciConfigSpace space, int offset, uint value)
    {
        var data = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(data, value);
        space.Write(offset, data);
    }
}
