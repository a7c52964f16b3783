using Ember.Devices.Bus;

namespace Ember.Devices.Pci;

/// <summary>
/// The enhanced configuration access mechanism (PCIe base spec §7.2.2): configuration space as MMIO,
/// 4 KiB per function and 1 MiB per bus, offset = bus &lt;&lt; 20 | device &lt;&lt; 15 | function &lt;&lt; 12 | register.
/// Registered on the MMIO bus at the base the ACPI MCFG table gives, for <see cref="Length"/> bytes.
/// Accesses of 1, 2 or 4 bytes that stay inside one dword work; the spec leaves wider and dword-crossing
/// accesses undefined, and here they read all ones and are dropped.
/// </summary>
public sealed class PciEcam : IBusDevice
{
    /// <summary>Configuration space per bus (32 devices × 8 functions × 4 KiB).</summary>
    public const ulong BytesPerBus = 1UL << 20;

    private readonly PciRootBus _bus;
    private long _droppedAccesses;

    /// <summary>ECAM for buses 0 to <paramref name="busCount"/> − 1 (only bus 0 has devices).</summary>
    public PciEcam(PciRootBus bus, int busCount = 1)
    {
        ArgumentNullException.ThrowIfNull(bus);
        if (busCount is < 1 or > 256)
            throw new ArgumentOutOfRangeException(nameof(busCount), busCount, "ECAM covers 1 to 256 buses");
        _bus = bus;
        Length = (ulong)busCount * BytesPerBus;
    }

    /// <summary>The MMIO range to register: 1 MiB per bus.</summary>
    public ulong Length { get; }

    /// <summary>Accesses refused for their width, alignment or offset.</summary>
    public long DroppedAccesses => Interlocked.Read(ref _droppedAccesses);

    public void Read(ulong offset, Span<byte> data)
    {
        if (TryDecode(offset, data.Length, out var address, out int register))
            _bus.ReadConfig(address, register, data);
        else
            data.Fill(0xFF);
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (TryDecode(offset, data.Length, out var address, out int register))
            _bus.WriteConfig(address, register, data);
    }

    private bool TryDecode(ulong offset, int width, out PciAddress address, out int register)
    {
        if (width is not (1 or 2 or 4) || offset >= Length || (int)(offset & 3) + width > 4)
        {
            Interlocked.Increment(ref _droppedAccesses);
            address = default;
            register = 0;
            return false;
        }
        address = new PciAddress((byte)(offset >> 20), (int)(offset >> 15) & 0x1F, (int)(offset >> 12) & 0x7);
        register = (int)(offset & 0xFFF);
        return true;
    }
}
