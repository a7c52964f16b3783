using System.Buffers.Binary;
using Ember.Devices.Bus;

namespace Ember.Devices.Pci;

/// <summary>
/// Configuration mechanism #1 (PCI Local Bus 3.0 §3.2.2.3.2), registered on the PIO bus at 0xCF8 for
/// <see cref="Length"/> ports. CONFIG_ADDRESS at offset 0 is a dword register: bit 31 enables
/// configuration cycles, bits 23:16 select the bus, 15:11 the device, 10:8 the function and 7:2 the
/// dword; bits 30:24 and 1:0 are reserved and read as zero. Only dword accesses reach it; byte and word
/// accesses to 0xCF8–0xCFB are not configuration accesses and read all ones. CONFIG_DATA at offsets
/// 4–7 (0xCFC–0xCFF) is a window on the selected dword: an access of 1, 2 or 4 bytes at 0xCFC + k
/// reaches register byte k, so a word at 0xCFE is bytes 2–3. With bit 31 clear the window reads all ones
/// and drops writes.
/// Threat model: one 32-bit latch; every field is masked to its width before use, and accesses that would
/// run past 0xCFF are refused.
/// </summary>
public sealed class PciConfigMechanism1(PciRootBus bus) : IBusDevice
{
    /// <summary>Ports 0xCF8–0xCFF.</summary>
    public const ulong Length = 8;

    private const ulong DataOffset = 4;
    private const uint EnableBit = 1u << 31;
    private const uint ImplementedAddressBits = EnableBit | 0x00FF_FFFC;

    private readonly PciRootBus _bus = bus ?? throw new ArgumentNullException(nameof(bus));
    private uint _address;
    private long _droppedAccesses;

    /// <summary>The CONFIG_ADDRESS latch as the guest reads it.</summary>
    public uint Address => Volatile.Read(ref _address);

    /// <summary>Accesses that were neither a dword CONFIG_ADDRESS access nor a fitting CONFIG_DATA access.</summary>
    public long DroppedAccesses => Interlocked.Read(ref _droppedAccesses);

    public void Read(ulong offset, Span<byte> data)
    {
        if (offset == 0 && data.Length == 4)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(data, Address);
            return;
        }
        if (TryDecodeData(offset, data.Length, out var address, out int register))
            _bus.ReadConfig(address, register, data);
        else
            data.Fill(0xFF);
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (offset == 0 && data.Length == 4)
        {
            Volatile.Write(ref _address, BinaryPrimitives.ReadUInt32LittleEndian(data) & ImplementedAddressBits);
            return;
        }
        if (TryDecodeData(offset, data.Length, out var address, out int register))
            _bus.WriteConfig(address, register, data);
    }

    private bool TryDecodeData(ulong offset, int width, out PciAddress address, out int register)
    {
        address = default;
        register = 0;
        uint latch = Address;
        if (offset < DataOffset || offset >= Length || width is not (1 or 2 or 4) || offset - DataOffset + (ulong)width > 4)
        {
            Interlocked.Increment(ref _droppedAccesses);
            return false;
        }
        if ((latch & EnableBit) == 0)
            return false;
        address = new PciAddress((byte)(latch >> 16), (int)(latch >> 11) & 0x1F, (int)(latch >> 8) & 0x7);
        register = (int)(latch & 0xFC) + (int)(offset - DataOffset);
        return true;
    }
}
