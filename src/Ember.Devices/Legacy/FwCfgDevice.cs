using System.Buffers.Binary;
using System.Collections.Frozen;
using Ember.Devices.Bus;

namespace Ember.Devices.Legacy;

/// <summary>
/// A read-only subset of QEMU's fw_cfg interface (docs/specs/fw_cfg.rst), traditional I/O
/// flavour only: a 16-bit selector written at offset <see cref="SelectorOffset"/> picks an item
/// and rewinds it, then 8-bit reads at offset <see cref="DataOffset"/> stream its bytes
/// (0x510/0x511 on x86). Items: signature "QEMU", ID (traditional interface only, no DMA),
/// RAM size (u64 LE), CPU count and max CPUs (u16 LE). Unknown keys, and reads past an item's
/// end, return zero; writes to the data port are ignored (read-only since fw_cfg rev. 2.4).
/// Threat model: items are fixed at construction and never guest-writable; the cursor is
/// clamped at the item's length, so nothing grows; other widths and offsets are dropped and counted.
/// </summary>
public sealed class FwCfgDevice : IBusDevice
{
    public const ulong SelectorOffset = 0;
    public const ulong DataOffset = 1;
    public const ulong Length = 2;

    // Item keys (fw_cfg.rst, "Selector (Control) Register" / well-known items).
    public const ushort SignatureKey = 0x0000;
    public const ushort IdKey = 0x0001;
    public const ushort RamSizeKey = 0x0003;
    public const ushort CpuCountKey = 0x0005;
    public const ushort MaxCpusKey = 0x000F;

    /// <summary>ID bit 0: the traditional (port I/O) interface is available; bit 1 (DMA) is not.</summary>
    public const uint TraditionalInterfaceFeature = 1;

    private static ReadOnlySpan<byte> Signature => "QEMU"u8;

    private readonly FrozenDictionary<ushort, byte[]> _items;
    private readonly Lock _lock = new();
    private ushort _selectedKey;
    private int _readOffset;
    private long _unhandledAccesses;

    public FwCfgDevice(ulong ramSizeBytes, ushort cpuCount, ushort maxCpus)
    {
        var id = new byte[sizeof(uint)];
        BinaryPrimitives.WriteUInt32LittleEndian(id, TraditionalInterfaceFeature);
        var ram = new byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64LittleEndian(ram, ramSizeBytes);
        var cpus = new byte[sizeof(ushort)];
        BinaryPrimitives.WriteUInt16LittleEndian(cpus, cpuCount);
        var max = new byte[sizeof(ushort)];
        BinaryPrimitives.WriteUInt16LittleEndian(max, maxCpus);
        _items = new Dictionary<ushort, byte[]>
        {
            [SignatureKey] = Signature.ToArray(),
            [IdKey] = id,
            [RamSizeKey] = ram,
            [CpuCountKey] = cpus,
            [MaxCpusKey] = max,
        }.ToFrozenDictionary();
    }

    /// <summary>Accesses other than a 2-byte selector write or a 1-byte data read/write.</summary>
    public long UnhandledAccesses => Interlocked.Read(ref _unhandledAccesses);

    public void Read(ulong offset, Span<byte> data)
    {
        if (offset != DataOffset || data.Length != 1)
        {
            Interlocked.Increment(ref _unhandledAccesses);
            return;
        }
        lock (_lock)
        {
            if (!_items.TryGetValue(_selectedKey, out var item) || _readOffset >= item.Length)
                return; // zero
            data[0] = item[_readOffset++];
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (offset == SelectorOffset && data.Length == sizeof(ushort))
        {
            lock (_lock)
            {
                _selectedKey = BinaryPrimitives.ReadUInt16LittleEndian(data);
                _readOffset = 0;
            }
            return;
        }
        if (offset == DataOffset && data.Length == 1)
            return; // data-port writes are ignored
        Interlocked.Increment(ref _unhandledAccesses);
    }

    public FwCfgDeviceState GetState()
    {
        lock (_lock)
            return new FwCfgDeviceState(_selectedKey, _readOffset);
    }

    /// <summary>Rebuilds a device with the given items and the snapshot's cursor.</summary>
    public static FwCfgDevice FromState(FwCfgDeviceState state, ulong ramSizeBytes, ushort cpuCount, ushort maxCpus)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.ReadOffset < 0)
            throw new ArgumentException("read offset is negative", nameof(state));
        return new FwCfgDevice(ramSizeBytes, cpuCount, maxCpus)
        {
            _selectedKey = state.SelectedKey,
            _readOffset = state.ReadOffset,
        };
    }
}
