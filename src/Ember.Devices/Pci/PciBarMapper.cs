using Ember.Devices.Bus;

namespace Ember.Devices.Pci;

/// <summary>
/// Keeps the PIO and MMIO buses in step with the BARs of a root bus's devices: when a BAR's decoded
/// address changes, its region comes off the bus at the old address and goes on at the new one.
/// Threat model: the guest places BARs; one placed over another device's range (or another BAR) is
/// simply left unmapped and counted, as overlapping decode is undefined on real hardware, and the
/// mapper only ever removes ranges it registered itself.
/// </summary>
public sealed class PciBarMapper
{
    private readonly DeviceBus _pio;
    private readonly DeviceBus _mmio;
    private readonly Lock _lock = new();
    private readonly Dictionary<(IPciDevice Device, int Index), ulong> _mapped = new(ReferenceKeyComparer.Instance);
    private long _refusedMappings;

    public PciBarMapper(PciRootBus root, DeviceBus pio, DeviceBus mmio)
    {
        ArgumentNullException.ThrowIfNull(root);
        _pio = pio ?? throw new ArgumentNullException(nameof(pio));
        _mmio = mmio ?? throw new ArgumentNullException(nameof(mmio));
        root.BarMoved += OnBarMoved;
    }

    /// <summary>BAR placements that overlapped something already on the bus and were left unmapped.</summary>
    public long RefusedMappings => Interlocked.Read(ref _refusedMappings);

    /// <summary>Where BAR <paramref name="index"/> of <paramref name="device"/> is on its bus now, or null.</summary>
    public ulong? MappedAddress(IPciDevice device, int index)
    {
        lock (_lock)
            return _mapped.TryGetValue((device, index), out ulong address) ? address : null;
    }

    private void OnBarMoved(IPciDevice device, PciBarMove move)
    {
        var bus = move.Bar.IsMemory ? _mmio : _pio;
        var key = (device, move.Index);
        lock (_lock)
        {
            if (_mapped.Remove(key, out ulong old))
                bus.Unregister(old);
            if (move.NewAddress is not { } address || device.BarRegion(move.Index) is not { } region)
                return;
            try
            {
                bus.Register(address, move.Bar.Size, region);
                _mapped[key] = address;
            }
            catch (BusRangeException)
            {
                Interlocked.Increment(ref _refusedMappings);
            }
        }
    }

    /// <summary>Devices are keyed by identity, whatever their Equals says.</summary>
    private sealed class ReferenceKeyComparer : IEqualityComparer<(IPciDevice Device, int Index)>
    {
        public static readonly ReferenceKeyComparer Instance = new();

        public bool Equals((IPciDevice Device, int Index) x, (IPciDevice Device, int Index) y) =>
            ReferenceEquals(x.Device, y.Device) && x.Index == y.Index;

        public int GetHashCode((IPciDevice Device, int Index) key) =>
            HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(key.Device), key.Index);
    }
}
