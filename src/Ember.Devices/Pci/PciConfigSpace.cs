using System.Buffers.Binary;

namespace Ember.Devices.Pci;

/// <summary>
/// The 4 KiB configuration space of one PCI function with a type 0 header (PCI Local Bus 3.0 §6.1;
/// PCIe base spec §7.2.2 for the extended part). Every byte has a write mask: bits the guest may write,
/// bits it clears by writing 1 (the Status error bits), and the rest read-only. The function's identity,
/// its BARs and its capabilities are laid out by the device model through the raw accessors; the guest
/// goes through <see cref="Read"/> and <see cref="Write"/>, which apply the masks.
/// Threat model: the guest chooses every offset, width and value. Accesses of width 1, 2 or 4 that lie
/// inside the 4 KiB work at any offset; anything else reads all ones and is dropped on write, and is
/// counted, never thrown. BAR addresses the guest writes are masked to the BAR's size, so a decoded
/// region is always size-aligned and never wraps the address space; whoever maps it on
/// <see cref="BarMoved"/> must still expect it to overlap something.
/// </summary>
public sealed class PciConfigSpace
{
    /// <summary>The configuration space's size (PCIe extended configuration space).</summary>
    public const int Size = PciConfigRegisters.ExtendedSize;

    private const ushort WritableCommandBits = (ushort)(PciCommand.IoSpace | PciCommand.MemorySpace
        | PciCommand.BusMaster | PciCommand.ParityErrorResponse | PciCommand.SerrEnable | PciCommand.InterruptDisable);

    private readonly Lock _lock = new();
    private readonly byte[] _bytes = new byte[Size];
    private readonly byte[] _writable = new byte[Size];
    private readonly byte[] _writeOneToClear = new byte[Size];
    private readonly PciBar?[] _bars = new PciBar?[PciConfigRegisters.BarCount];
    private readonly ulong?[] _decoded = new ulong?[PciConfigRegisters.BarCount];
    private readonly List<HandlerRange> _handlers = [];
    private long _droppedAccesses;

    private readonly record struct HandlerRange(int Start, int Length, IPciConfigHandler Handler);

    public PciConfigSpace(PciFunctionIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        if (identity.VendorId == 0xFFFF)
            throw new ArgumentException("vendor ID 0xFFFF is what an absent function reads as", nameof(identity));
        if (identity.InterruptPin > PciInterruptPin.IntD)
            throw new ArgumentOutOfRangeException(nameof(identity), identity.InterruptPin, "interrupt pin is none or INTA..INTD");
        Identity = identity;
        SetUInt16(PciConfigRegisters.VendorId, identity.VendorId);
        SetUInt16(PciConfigRegisters.DeviceId, identity.DeviceId);
        SetByte(PciConfigRegisters.RevisionId, identity.RevisionId);
        SetByte(PciConfigRegisters.ProgrammingInterface, identity.ClassCode.ProgrammingInterface);
        SetByte(PciConfigRegisters.SubClass, identity.ClassCode.SubClass);
        SetByte(PciConfigRegisters.BaseClass, identity.ClassCode.BaseClass);
        SetUInt16(PciConfigRegisters.SubsystemVendorId, identity.SubsystemVendorId);
        SetUInt16(PciConfigRegisters.SubsystemId, identity.SubsystemId);
        SetByte(PciConfigRegisters.InterruptPin, (byte)identity.InterruptPin);
        // Header type 0, single function: bit 7 clear.
        SetByte(PciConfigRegisters.HeaderType, 0x00);

        SetMask(_writable, PciConfigRegisters.Command, 2, WritableCommandBits);
        SetMask(_writeOneToClear, PciConfigRegisters.Status, 2, (ushort)PciStatus.WriteOneToClear);
        // Cache Line Size is read/write for software's benefit (§6.2.4); Interrupt Line is scratch for the
        // OS's routing decision.
        _writable[PciConfigRegisters.CacheLineSize] = 0xFF;
        _writable[PciConfigRegisters.InterruptLine] = 0xFF;
        Capabilities = new PciCapabilityList(this);
    }

    public PciFunctionIdentity Identity { get; }

    /// <summary>The capability list; adding to it lays the capability out and links it in.</summary>
    public PciCapabilityList Capabilities { get; }

    /// <summary>
    /// A BAR's decoded region changed (see <see cref="PciBarMove"/>). Raised after the access that caused
    /// it has finished, on the thread that made it (a vCPU thread for guest writes); handlers must not throw.
    /// </summary>
    public event Action<PciBarMove>? BarMoved;

    /// <summary>Guest accesses refused for their offset or width.</summary>
    public long DroppedAccesses => Interlocked.Read(ref _droppedAccesses);

    internal Lock SyncRoot => _lock;

    // ---- Guest accesses ---------------------------------------------------------------------------

    /// <summary>A guest read of 1, 2 or 4 bytes at <paramref name="offset"/>; anything else reads all ones.</summary>
    public void Read(int offset, Span<byte> data)
    {
        if (!IsGuestAccess(offset, data.Length))
        {
            data.Fill(0xFF);
            Interlocked.Increment(ref _droppedAccesses);
            return;
        }
        lock (_lock)
        {
            foreach (var range in _handlers)
            {
                if (Overlap(range, offset, data.Length, out int start, out int length))
                    range.Handler.BeforeGuestRead(this, start, length);
            }
            _bytes.AsSpan(offset, data.Length).CopyTo(data);
        }
    }

    /// <summary>A guest write of 1, 2 or 4 bytes at <paramref name="offset"/> through the write masks; anything else is dropped.</summary>
    public void Write(int offset, ReadOnlySpan<byte> data)
    {
        if (!IsGuestAccess(offset, data.Length))
        {
            Interlocked.Increment(ref _droppedAccesses);
            return;
        }
        List<PciBarMove>? moves;
        lock (_lock)
        {
            for (int i = 0; i < data.Length; i++)
            {
                int at = offset + i;
                int value = data[i];
                int writable = _writable[at];
                _bytes[at] = (byte)((_bytes[at] & ~writable & ~(value & _writeOneToClear[at])) | (value & writable));
            }
            foreach (var range in _handlers)
            {
                if (Overlap(range, offset, data.Length, out int start, out int length))
                    range.Handler.AfterGuestWrite(this, start, length);
            }
            moves = RefreshDecoding();
        }
        Raise(moves);
    }

    private static bool IsGuestAccess(int offset, int width) =>
        width is 1 or 2 or 4 && offset >= 0 && offset <= Size - width;

    private static bool Overlap(HandlerRange range, int offset, int width, out int start, out int length)
    {
        start = Math.Max(range.Start, offset);
        int end = Math.Min(range.Start + range.Length, offset + width);
        length = end - start;
        return length > 0;
    }

    // ---- Raw accessors for the device model (trusted; bad offsets throw) ----------------------------

    public byte ReadByte(int offset)
    {
        CheckRaw(offset, 1);
        lock (_lock)
            return _bytes[offset];
    }

    public ushort ReadUInt16(int offset)
    {
        CheckRaw(offset, 2);
        lock (_lock)
            return BinaryPrimitives.ReadUInt16LittleEndian(_bytes.AsSpan(offset));
    }

    public uint ReadUInt32(int offset)
    {
        CheckRaw(offset, 4);
        lock (_lock)
            return BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(offset));
    }

    /// <summary>Stores a byte regardless of the write masks (the device setting a read-only value).</summary>
    public void SetByte(int offset, byte value)
    {
        CheckRaw(offset, 1);
        lock (_lock)
            _bytes[offset] = value;
    }

    public void SetUInt16(int offset, ushort value)
    {
        CheckRaw(offset, 2);
        lock (_lock)
            BinaryPrimitives.WriteUInt16LittleEndian(_bytes.AsSpan(offset), value);
    }

    public void SetUInt32(int offset, uint value)
    {
        CheckRaw(offset, 4);
        lock (_lock)
            BinaryPrimitives.WriteUInt32LittleEndian(_bytes.AsSpan(offset), value);
    }

    /// <summary>
    /// Makes the bits set in <paramref name="writableMask"/> guest-writable from <paramref name="offset"/> on
    /// (one mask byte per configuration byte); the other bits of those bytes become read-only.
    /// </summary>
    public void SetWritableMask(int offset, ReadOnlySpan<byte> writableMask)
    {
        CheckRaw(offset, writableMask.Length);
        lock (_lock)
        {
            writableMask.CopyTo(_writable.AsSpan(offset));
            _writeOneToClear.AsSpan(offset, writableMask.Length).Clear();
        }
    }

    /// <summary>Routes guest accesses to [offset, offset + length) through <paramref name="handler"/> as well.</summary>
    public void AddHandler(int offset, int length, IPciConfigHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        CheckRaw(offset, length);
        lock (_lock)
            _handlers.Add(new HandlerRange(offset, length, handler));
    }

    private static void CheckRaw(int offset, int length)
    {
        if (length <= 0 || offset < 0 || offset > Size - length)
            throw new ArgumentOutOfRangeException(nameof(offset), offset,
                $"configuration access of {length} bytes must lie inside the {Size}-byte space");
    }

    private static void SetMask(byte[] mask, int offset, int length, uint bits)
    {
        for (int i = 0; i < length; i++)
            mask[offset + i] = (byte)(bits >> (8 * i));
    }

    // ---- Header registers ---------------------------------------------------------------------------

    public PciCommand Command => (PciCommand)ReadUInt16(PciConfigRegisters.Command);

    public PciStatus Status => (PciStatus)ReadUInt16(PciConfigRegisters.Status);

    /// <summary>The Interrupt Line register: scratch the OS writes, preset by the VMM to the line it routed.</summary>
    public byte InterruptLine
    {
        get => ReadByte(PciConfigRegisters.InterruptLine);
        set => SetByte(PciConfigRegisters.InterruptLine, value);
    }

    /// <summary>Sets Status error bits, which the guest clears by writing 1 to them.</summary>
    public void RaiseStatus(PciStatus errors)
    {
        if ((errors & ~PciStatus.WriteOneToClear) != 0)
            throw new ArgumentException("only the write-1-to-clear error bits can be raised", nameof(errors));
        lock (_lock)
            SetUInt16(PciConfigRegisters.Status, (ushort)((ushort)Status | (ushort)errors));
    }

    /// <summary>Reflects the function's INTx state in Status bit 3 (read-only to the guest).</summary>
    public void SetInterruptStatus(bool asserted)
    {
        lock (_lock)
        {
            ushort status = (ushort)Status;
            status = asserted ? (ushort)(status | (ushort)PciStatus.InterruptStatus) : (ushort)(status & ~(ushort)PciStatus.InterruptStatus);
            SetUInt16(PciConfigRegisters.Status, status);
        }
    }

    // ---- BARs ---------------------------------------------------------------------------------------

    /// <summary>
    /// Implements BAR <paramref name="index"/> with <paramref name="bar"/>'s shape. A 64-bit BAR also takes
    /// slot <c>index + 1</c> for its upper half. Set BARs while the device is built, before the guest runs.
    /// </summary>
    public void SetBar(int index, PciBar bar)
    {
        if (bar.Size == 0)
            throw new ArgumentException("BAR has no size (use PciBar.Memory32, Memory64 or Io)", nameof(bar));
        if (index < 0 || index + bar.Slots > PciConfigRegisters.BarCount)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"a {bar.Kind} BAR does not fit at BAR {index}");
        lock (_lock)
        {
            for (int slot = index; slot < index + bar.Slots; slot++)
            {
                if (_bars[slot] is not null || IsUpperHalf(slot))
                    throw new InvalidOperationException($"BAR {slot} is already in use");
            }
            _bars[index] = bar;
            int offset = PciConfigRegisters.BarOffset(index);
            ulong mask = bar.AddressMask;
            SetUInt32(offset, bar.TypeBits);
            SetMask(_writable, offset, 4, (uint)mask);
            if (bar.Kind == PciBarKind.Memory64)
            {
                SetUInt32(offset + 4, 0);
                SetMask(_writable, offset + 4, 4, (uint)(mask >> 32));
            }
        }
    }

    /// <summary>The BAR implemented at <paramref name="index"/>, or null (also for the upper half of a 64-bit BAR).</summary>
    public PciBar? Bar(int index)
    {
        if ((uint)index >= PciConfigRegisters.BarCount)
            return null;
        lock (_lock)
            return _bars[index];
    }

    /// <summary>The address programmed into BAR <paramref name="index"/>, whether or not it is decoded.</summary>
    public ulong BarAddress(int index)
    {
        lock (_lock)
        {
            var bar = _bars[index] ?? throw new ArgumentException($"BAR {index} is not implemented", nameof(index));
            return ProgrammedAddress(index, bar);
        }
    }

    /// <summary>The region BAR <paramref name="index"/> decodes now: its address if the command bit for its space is set, else null.</summary>
    public ulong? DecodedBarAddress(int index)
    {
        if ((uint)index >= PciConfigRegisters.BarCount)
            return null;
        lock (_lock)
            return _decoded[index];
    }

    /// <summary>
    /// Places BAR <paramref name="index"/> at <paramref name="address"/>, as firmware would before the OS
    /// runs (the VMM's BAR placement). The address must be aligned to the BAR's size and fit its kind.
    /// </summary>
    public void SetBarAddress(int index, ulong address)
    {
        List<PciBarMove>? moves;
        lock (_lock)
        {
            var bar = _bars[index] ?? throw new ArgumentException($"BAR {index} is not implemented", nameof(index));
            if ((address & ~bar.AddressMask) != 0)
                throw new ArgumentOutOfRangeException(nameof(address), address,
                    $"BAR {index} ({bar.Kind}, 0x{bar.Size:x} bytes) cannot be placed at 0x{address:x}");
            int offset = PciConfigRegisters.BarOffset(index);
            SetUInt32(offset, (uint)address | bar.TypeBits);
            if (bar.Kind == PciBarKind.Memory64)
                SetUInt32(offset + 4, (uint)(address >> 32));
            moves = RefreshDecoding();
        }
        Raise(moves);
    }

    private bool IsUpperHalf(int slot) => slot > 0 && _bars[slot - 1] is { Kind: PciBarKind.Memory64 };

    private ulong ProgrammedAddress(int index, PciBar bar)
    {
        int offset = PciConfigRegisters.BarOffset(index);
        ulong raw = ReadUInt32(offset);
        if (bar.Kind == PciBarKind.Memory64)
            raw |= (ulong)ReadUInt32(offset + 4) << 32;
        return raw & bar.AddressMask;
    }

    /// <summary>Recomputes what each BAR decodes; returns the changes, or null if there are none. Lock held.</summary>
    private List<PciBarMove>? RefreshDecoding()
    {
        List<PciBarMove>? moves = null;
        var command = Command;
        for (int index = 0; index < _bars.Length; index++)
        {
            if (_bars[index] is not { } bar)
                continue;
            bool enabled = (command & (bar.IsMemory ? PciCommand.MemorySpace : PciCommand.IoSpace)) != 0;
            ulong? now = enabled ? ProgrammedAddress(index, bar) : null;
            if (now != _decoded[index])
            {
                (moves ??= []).Add(new PciBarMove(index, bar, _decoded[index], now));
                _decoded[index] = now;
            }
        }
        return moves;
    }

    private void Raise(List<PciBarMove>? moves)
    {
        if (moves is null)
            return;
        var handler = BarMoved;
        if (handler is null)
            return;
        foreach (var move in moves)
            handler(move);
    }
}
