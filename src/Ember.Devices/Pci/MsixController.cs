using System.Buffers.Binary;
using Ember.Devices.Bus;
using Ember.Devices.Interrupts;

namespace Ember.Devices.Pci;

/// <summary>
/// A function's MSI-X (PCI Local Bus 3.0 §6.8.2): the capability in configuration space, the vector table
/// and the Pending Bit Array served as MMIO inside memory BARs, and the masking rules between them.
/// A vector is effectively masked when its entry's Mask Bit, the Function Mask or a clear MSI-X Enable
/// says so. The device calls <see cref="Notify"/>; an effectively masked vector sets its pending bit
/// instead of firing, and is sent (and its bit cleared) as soon as it is unmasked (§6.8.2.9).
/// Delivery goes through an <see cref="IMsiVectorGroup"/>: Update whenever a vector's message or effective
/// mask changes, Trigger when it fires.
/// Threat model: the guest writes the table and the control bits at will. Table and PBA accept only
/// aligned 4- and 8-byte accesses inside their size (§6.8.2: other accesses are undefined); anything else
/// is ignored and reads zero. Reserved bits are read-only zero. The table is fixed-size and allocated once.
/// </summary>
public sealed class MsixController : IPciConfigHandler
{
    private readonly Lock _lock = new();
    private readonly PciConfigSpace _config;
    private readonly IMsiVectorGroup _vectors;
    private readonly MsixTableEntry[] _entries;
    private readonly bool[] _effectivelyMasked;
    private readonly ulong[] _pending;
    private bool _enabled;
    private bool _functionMasked;
    private long _ignoredAccesses;

    /// <summary>
    /// Adds the MSI-X capability to <paramref name="config"/> for <paramref name="vectors"/>' vectors, with
    /// the table at <paramref name="tableOffset"/> in BAR <paramref name="tableBar"/> and the PBA at
    /// <paramref name="pbaOffset"/> in BAR <paramref name="pbaBar"/>. The BARs must already be memory BARs
    /// large enough; the device routes those ranges of its BAR regions to <see cref="Table"/> and
    /// <see cref="PendingBits"/>.
    /// </summary>
    public MsixController(PciConfigSpace config, IMsiVectorGroup vectors, int tableBar, uint tableOffset, int pbaBar, uint pbaOffset)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(vectors);
        int count = vectors.Count;
        if (count is < 1 or > MsixCapabilityLayout.MaximumVectors)
            throw new ArgumentOutOfRangeException(nameof(vectors), count, $"MSI-X has 1 to {MsixCapabilityLayout.MaximumVectors} vectors");
        CheckPlacement(config, "table", tableBar, tableOffset, TableLength(count));
        CheckPlacement(config, "PBA", pbaBar, pbaOffset, PbaLength(count));
        if (tableBar == pbaBar && tableOffset < pbaOffset + PbaLength(count) && pbaOffset < tableOffset + TableLength(count))
            throw new ArgumentException("the MSI-X table and PBA overlap");

        _config = config;
        _vectors = vectors;
        _entries = new MsixTableEntry[count];
        _effectivelyMasked = new bool[count];
        _pending = new ulong[(count + 63) / 64];
        Array.Fill(_entries, MsixTableEntry.Reset);
        Array.Fill(_effectivelyMasked, true);
        Table = new MsixTableRegion(this);
        PendingBits = new MsixPbaRegion(this);

        Span<byte> body = stackalloc byte[MsixCapabilityLayout.Length - PciCapabilityList.HeaderLength];
        body.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(body, (ushort)(count - 1));
        BinaryPrimitives.WriteUInt32LittleEndian(body[2..], tableOffset | (uint)tableBar);
        BinaryPrimitives.WriteUInt32LittleEndian(body[6..], pbaOffset | (uint)pbaBar);
        Span<byte> writable = stackalloc byte[body.Length];
        writable.Clear();
        writable[1] = (MsixCapabilityLayout.FunctionMask | MsixCapabilityLayout.Enable) >> 8;
        CapabilityOffset = config.Capabilities.Add(PciCapabilityId.MsiX, body, writable, this);
    }

    /// <summary>The table's length in bytes for <paramref name="vectors"/> vectors.</summary>
    public static uint TableLength(int vectors) => (uint)vectors * MsixTableEntry.Size;

    /// <summary>The PBA's length in bytes: one bit per vector, in whole qwords.</summary>
    public static uint PbaLength(int vectors) => (uint)(vectors + 63) / 64 * 8;

    public int VectorCount => _entries.Length;

    /// <summary>The offset of the MSI-X capability in configuration space.</summary>
    public int CapabilityOffset { get; }

    /// <summary>The table as MMIO, to be served at the table offset inside its BAR.</summary>
    public IBusDevice Table { get; }

    /// <summary>The Pending Bit Array as MMIO, to be served at the PBA offset inside its BAR.</summary>
    public IBusDevice PendingBits { get; }

    /// <summary>Table and PBA accesses refused for their width, alignment or offset.</summary>
    public long IgnoredAccesses => Interlocked.Read(ref _ignoredAccesses);

    public bool IsEnabled
    {
        get
        {
            lock (_lock)
                return _enabled;
        }
    }

    public bool IsFunctionMasked
    {
        get
        {
            lock (_lock)
                return _functionMasked;
        }
    }

    public MsixTableEntry Entry(int vector)
    {
        lock (_lock)
            return _entries[vector];
    }

    public bool IsPending(int vector)
    {
        lock (_lock)
            return IsPendingLocked(vector);
    }

    /// <summary>True when <paramref name="vector"/> would not be sent now: its mask, the function mask, or MSI-X off.</summary>
    public bool IsEffectivelyMasked(int vector)
    {
        lock (_lock)
            return _effectivelyMasked[vector];
    }

    /// <summary>
    /// The device's interrupt for <paramref name="vector"/>: sent now if the vector is unmasked, else held
    /// as a pending bit. Out-of-range vectors are ignored (a device model passes guest-chosen vector numbers,
    /// such as virtio's queue_msix_vector, straight through). Safe from any thread.
    /// </summary>
    public void Notify(int vector)
    {
        if ((uint)vector >= (uint)_entries.Length)
        {
            Interlocked.Increment(ref _ignoredAccesses);
            return;
        }
        lock (_lock)
        {
            if (_effectivelyMasked[vector])
                SetPending(vector, true);
            else
                _vectors.Trigger(vector);
        }
    }

    // ---- Capability (configuration space) -----------------------------------------------------------

    void IPciConfigHandler.AfterGuestWrite(PciConfigSpace space, int offset, int length)
    {
        ushort control = space.ReadUInt16(CapabilityOffset + MsixCapabilityLayout.MessageControl);
        lock (_lock)
        {
            bool enabled = (control & MsixCapabilityLayout.Enable) != 0;
            bool functionMasked = (control & MsixCapabilityLayout.FunctionMask) != 0;
            if (enabled == _enabled && functionMasked == _functionMasked)
                return;
            _enabled = enabled;
            _functionMasked = functionMasked;
            for (int vector = 0; vector < _entries.Length; vector++)
                Refresh(vector, messageChanged: false);
        }
    }

    // ---- Table and PBA (MMIO) -----------------------------------------------------------------------

    internal void ReadTable(ulong offset, Span<byte> data)
    {
        if (!IsQwordOrDwordAccess(offset, data.Length, TableLength(_entries.Length)))
            return;
        lock (_lock)
        {
            for (int done = 0; done < data.Length; done += 4)
                BinaryPrimitives.WriteUInt32LittleEndian(data[done..], ReadField((int)(offset / 4) + done / 4));
        }
    }

    internal void WriteTable(ulong offset, ReadOnlySpan<byte> data)
    {
        if (!IsQwordOrDwordAccess(offset, data.Length, TableLength(_entries.Length)))
            return;
        int vector = (int)(offset / MsixTableEntry.Size);
        lock (_lock)
        {
            var before = _entries[vector];
            var entry = before;
            for (int done = 0; done < data.Length; done += 4)
            {
                uint value = BinaryPrimitives.ReadUInt32LittleEndian(data[done..]);
                entry = ((int)(offset % MsixTableEntry.Size) + done) switch
                {
                    0x0 => entry with { AddressLow = value & ~0x3u },
                    0x4 => entry with { AddressHigh = value },
                    0x8 => entry with { Data = value },
                    _ => entry with { VectorControl = value & MsixTableEntry.MaskBit },
                };
            }
            _entries[vector] = entry;
            Refresh(vector, messageChanged: entry.Message != before.Message);
        }
    }

    internal void ReadPba(ulong offset, Span<byte> data)
    {
        if (!IsQwordOrDwordAccess(offset, data.Length, PbaLength(_entries.Length)))
            return;
        lock (_lock)
        {
            ulong qword = _pending[offset / 8];
            if (data.Length == 8)
                BinaryPrimitives.WriteUInt64LittleEndian(data, qword);
            else
                BinaryPrimitives.WriteUInt32LittleEndian(data, (uint)(qword >> (int)(offset % 8 * 8)));
        }
    }

    /// <summary>The PBA is read-only (§6.8.2.10: software should never write it); writes are counted and dropped.</summary>
    internal void WritePba(ulong offset, ReadOnlySpan<byte> data) => Interlocked.Increment(ref _ignoredAccesses);

    private bool IsQwordOrDwordAccess(ulong offset, int width, uint length)
    {
        if (width is 4 or 8 && offset % (ulong)width == 0 && offset < length && (ulong)width <= length - offset)
            return true;
        Interlocked.Increment(ref _ignoredAccesses);
        return false;
    }

    private uint ReadField(int dword)
    {
        var entry = _entries[dword / 4];
        return (dword % 4) switch
        {
            0 => entry.AddressLow,
            1 => entry.AddressHigh,
            2 => entry.Data,
            _ => entry.VectorControl,
        };
    }

    /// <summary>Tells the vector group about a change to <paramref name="vector"/>, and sends it if it was pending and is now unmasked. Lock held.</summary>
    private void Refresh(int vector, bool messageChanged)
    {
        var entry = _entries[vector];
        bool masked = entry.Masked || _functionMasked || !_enabled;
        if (masked != _effectivelyMasked[vector] || messageChanged)
        {
            _effectivelyMasked[vector] = masked;
            _vectors.Update(vector, entry.Message, masked);
        }
        if (!masked && IsPendingLocked(vector))
        {
            SetPending(vector, false);
            _vectors.Trigger(vector);
        }
    }

    private bool IsPendingLocked(int vector) => (_pending[vector / 64] & (1UL << (vector % 64))) != 0;

    private void SetPending(int vector, bool pending)
    {
        if (pending)
            _pending[vector / 64] |= 1UL << (vector % 64);
        else
            _pending[vector / 64] &= ~(1UL << (vector % 64));
    }

    private static void CheckPlacement(PciConfigSpace config, string what, int bar, uint offset, uint length)
    {
        if (config.Bar(bar) is not { IsMemory: true } shape)
            throw new ArgumentException($"the MSI-X {what} needs a memory BAR, and BAR {bar} is not one");
        if ((offset & MsixCapabilityLayout.BirMask) != 0)
            throw new ArgumentException($"the MSI-X {what} offset 0x{offset:x} is not qword aligned");
        if ((ulong)offset + length > shape.Size)
            throw new ArgumentException($"the MSI-X {what} (0x{length:x} bytes at 0x{offset:x}) does not fit in BAR {bar} (0x{shape.Size:x} bytes)");
    }
}
