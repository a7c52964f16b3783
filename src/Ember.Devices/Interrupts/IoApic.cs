using System.Buffers.Binary;
using System.Collections.Immutable;
using Ember.Devices.Bus;

namespace Ember.Devices.Interrupts;

/// <summary>
/// A user-space I/O APIC (Intel 82093AA datasheet, with the optional EOI register of later chipsets), for
/// KVM's split irqchip: the pins' messages go out through <see cref="IIoApicDelivery"/> and level EOIs come
/// back through <see cref="EndOfInterrupt"/>. Registered on the MMIO bus for its 0x1000-byte window; only
/// offsets are seen here. Pin <i>n</i> is GSI <i>n</i>.
/// <para>
/// Threat model: the guest controls IOREGSEL, every register value and the EOI register. Registers outside
/// the datasheet's map read as zero and drop writes; read-only and reserved bits cannot be changed. A guest
/// that EOIs a still-asserted level interrupt forever could keep a host thread busy re-delivering it: the
/// storm guard bounds that to <see cref="StormThreshold"/> back-to-back deliveries per pin.
/// </para>
/// <para>
/// Input levels are the logical "asserted" state, as in KVM and QEMU: the polarity bit is stored for the
/// guest but does not invert the input, because emulated devices drive asserted/deasserted, not volts.
/// </para>
/// </summary>
public sealed class IoApic : IBusDevice
{
    /// <summary>Number of input pins and redirection entries (82093AA §2: 24 interrupt inputs).</summary>
    public const int PinCount = 24;

    /// <summary>Size of the MMIO window the VMM maps (the datasheet decodes a 4 KiB range at 0xFEC0_xy00).</summary>
    public const ulong MmioSize = 0x1000;

    /// <summary>Default number of back-to-back re-deliveries of a held level interrupt before the storm guard steps in.</summary>
    public const int DefaultStormThreshold = 10_000;

    // 82093AA §3.1: memory-mapped registers, as offsets into the window.
    private const ulong RegisterSelectOffset = 0x00;
    private const ulong WindowOffset = 0x10;

    // ICH/PCH IOAPICs (version 0x20): writing a vector here acts as a directed EOI for level entries.
    private const ulong EoiOffset = 0x40;

    // 82093AA §3.2: indirect registers selected through IOREGSEL.
    private const byte IdRegister = 0x00;
    private const byte VersionRegister = 0x01;
    private const byte ArbitrationRegister = 0x02;
    private const byte RedirectionTableBase = 0x10;
    private const byte RedirectionTableLast = RedirectionTableBase + 2 * PinCount - 1;

    // §3.2.1/§3.2.3: the 4-bit ID and arbitration ID live in bits 27:24.
    private const int IdShift = 24;
    private const uint IdMask = 0xF;

    // §3.2.2: bits 23:16 hold the index of the highest redirection entry.
    private const int MaxRedirectionEntryShift = 16;

    private const int WindowWidth = 4;
    private const uint AllPins = (1u << PinCount) - 1;

    private readonly Lock _lock = new();
    private readonly IIoApicDelivery _delivery;
    private readonly RedirectionEntry[] _entries = new RedirectionEntry[PinCount];
    private readonly int[] _redeliveries = new int[PinCount];
    private readonly IInterruptLine[] _pins = new IInterruptLine[PinCount];
    private byte _id;
    private byte _registerSelect;
    private uint _pinLevels;
    private uint _deferredPins;
    private long _droppedAccesses;
    private long _stormDeferrals;

    public IoApic(IIoApicDelivery delivery, IoApicVersion version = IoApicVersion.WithEoiRegister,
        int stormThreshold = DefaultStormThreshold)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        ArgumentOutOfRangeException.ThrowIfLessThan(stormThreshold, 1);
        if (!Enum.IsDefined(version))
            throw new ArgumentOutOfRangeException(nameof(version));
        _delivery = delivery;
        Version = version;
        StormThreshold = stormThreshold;
        for (int pin = 0; pin < PinCount; pin++)
        {
            _entries[pin] = RedirectionEntry.Reset;
            _pins[pin] = new IoApicPin(this, pin);
        }
    }

    public IoApicVersion Version { get; }

    /// <summary>Back-to-back re-deliveries of one held level pin, after EOIs, before delivery is deferred.</summary>
    public int StormThreshold { get; }

    /// <summary>Guest accesses ignored because of their offset or width.</summary>
    public long DroppedAccesses => Interlocked.Read(ref _droppedAccesses);

    /// <summary>How many times the storm guard deferred a pin.</summary>
    public long StormDeferrals => Interlocked.Read(ref _stormDeferrals);

    /// <summary>True while some pin waits for <see cref="RetryDeferred"/>.</summary>
    public bool HasDeferredDeliveries
    {
        get { lock (_lock) return _deferredPins != 0; }
    }

    /// <summary>
    /// An EOI cleared the remote IRR of this level pin: a device that samples its condition only on EOI
    /// (like KVM's irqfd resampler) should re-check it now. Raised without the lock held.
    /// </summary>
    public event Action<int>? LevelEoi;

    /// <summary>
    /// The storm guard stopped re-delivering this pin immediately; the VMM should call
    /// <see cref="RetryDeferred"/> from a timer. Raised without the lock held.
    /// </summary>
    public event Action<int>? DeliveryDeferred;

    /// <summary>The input wire of <paramref name="pin"/>, for a device to drive.</summary>
    public IInterruptLine GetPin(int pin)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pin);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(pin, PinCount);
        return _pins[pin];
    }

    /// <summary>The current redirection entry of <paramref name="pin"/>, e.g. to build its MSI route.</summary>
    public RedirectionEntry GetEntry(int pin)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pin);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(pin, PinCount);
        lock (_lock)
            return _entries[pin];
    }

    /// <summary>Whether input <paramref name="pin"/> is asserted; false for pins out of range.</summary>
    public bool GetPinLevel(int pin)
    {
        if ((uint)pin >= PinCount)
            return false;
        lock (_lock)
            return (_pinLevels & (1u << pin)) != 0;
    }

    /// <summary>
    /// Drives input <paramref name="pin"/>. Edge entries send on a rising edge when unmasked (an edge on a
    /// masked pin is lost, 82093AA §3.2.4 bit 16). Level entries send while asserted, unmasked and remote
    /// IRR clear. Pins out of range are ignored.
    /// </summary>
    public void SetPinLevel(int pin, bool high)
    {
        if ((uint)pin >= PinCount)
            return;
        var outbox = new IoApicOutbox();
        lock (_lock)
        {
            uint bit = 1u << pin;
            bool wasHigh = (_pinLevels & bit) != 0;
            if (!high)
            {
                _pinLevels &= ~bit;
                // The line dropped: whatever storm there was is over.
                _redeliveries[pin] = 0;
                _deferredPins &= ~bit;
                return;
            }
            _pinLevels |= bit;
            var entry = _entries[pin];
            if (entry.TriggerMode == TriggerMode.Edge)
            {
                if (!wasHigh && !entry.Masked)
                    outbox.Deliveries |= bit;
            }
            else
            {
                TrySendLevelLocked(pin, ref outbox);
            }
            outbox.Snapshot(_entries);
        }
        Flush(ref outbox);
    }

    /// <summary>
    /// An EOI for <paramref name="vector"/> from a local APIC (KVM_EXIT_IOAPIC_EOI) or the EOI register:
    /// every level entry with that vector and remote IRR set has remote IRR cleared (82093AA §3.2.4 bit 14)
    /// and is sent again if its pin is still asserted and unmasked, unless the storm guard defers it.
    /// </summary>
    public void EndOfInterrupt(byte vector)
    {
        var outbox = new IoApicOutbox();
        lock (_lock)
        {
            EndOfInterruptLocked(vector, ref outbox);
            outbox.Snapshot(_entries);
        }
        Flush(ref outbox);
    }

    /// <summary>
    /// Re-delivers the pins the storm guard deferred, if they still need it, and restarts their counts.
    /// The VMM calls this from a timer after <see cref="DeliveryDeferred"/>.
    /// </summary>
    public void RetryDeferred()
    {
        var outbox = new IoApicOutbox();
        lock (_lock)
        {
            uint deferred = _deferredPins;
            _deferredPins = 0;
            for (int pin = 0; pin < PinCount; pin++)
            {
                if ((deferred & (1u << pin)) == 0)
                    continue;
                _redeliveries[pin] = 0;
                TrySendLevelLocked(pin, ref outbox);
            }
            outbox.Snapshot(_entries);
        }
        Flush(ref outbox);
    }

    public void Read(ulong offset, Span<byte> data)
    {
        uint value;
        lock (_lock)
        {
            switch (offset)
            {
                case RegisterSelectOffset when data.Length <= WindowWidth:
                    value = _registerSelect;
                    break;
                case WindowOffset when data.Length == WindowWidth:
                    value = ReadRegisterLocked(_registerSelect);
                    break;
                default:
                    Interlocked.Increment(ref _droppedAccesses);
                    return;
            }
        }
        WriteLittleEndian(data, value);
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        var outbox = new IoApicOutbox();
        lock (_lock)
        {
            switch (offset)
            {
                case RegisterSelectOffset when data.Length is >= 1 and <= WindowWidth:
                    // §3.1.1: only bits 7:0 select a register; bits 31:8 are reserved.
                    _registerSelect = data[0];
                    break;
                case WindowOffset when data.Length == WindowWidth:
                    WriteRegisterLocked(_registerSelect, BinaryPrimitives.ReadUInt32LittleEndian(data), ref outbox);
                    break;
                case EoiOffset when data.Length == WindowWidth && Version == IoApicVersion.WithEoiRegister:
                    // Bits 7:0 carry the vector; the rest are reserved.
                    EndOfInterruptLocked(data[0], ref outbox);
                    break;
                default:
                    Interlocked.Increment(ref _droppedAccesses);
                    return;
            }
            outbox.Snapshot(_entries);
        }
        Flush(ref outbox);
    }

    public IoApicState GetState()
    {
        lock (_lock)
        {
            var entries = ImmutableArray.CreateBuilder<ulong>(PinCount);
            foreach (var entry in _entries)
                entries.Add(entry.Raw);
            return new IoApicState(Version, _id, _registerSelect, entries.MoveToImmutable(), _pinLevels, _deferredPins);
        }
    }

    /// <summary>
    /// An IOAPIC in <paramref name="state"/>. No callbacks are made: the VMM rebuilds its routes from
    /// <see cref="GetEntry"/> and retries deferred pins itself.
    /// </summary>
    public static IoApic FromState(IoApicState state, IIoApicDelivery delivery, int stormThreshold = DefaultStormThreshold)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.RedirectionEntries.IsDefault || state.RedirectionEntries.Length != PinCount)
            throw new ArgumentException($"an IOAPIC state needs {PinCount} redirection entries", nameof(state));
        var ioApic = new IoApic(delivery, state.Version, stormThreshold)
        {
            _id = (byte)(state.Id & IdMask),
            _registerSelect = state.RegisterSelect,
            _pinLevels = state.PinLevels & AllPins,
            _deferredPins = state.DeferredPins & AllPins,
        };
        for (int pin = 0; pin < PinCount; pin++)
        {
            // Reserved bits are kept at zero, as a guest write would.
            var raw = state.RedirectionEntries[pin] & (RedirectionEntry.GuestWritableBits | RedirectionEntry.ReadOnlyBits);
            ioApic._entries[pin] = new RedirectionEntry(raw);
        }
        return ioApic;
    }

    private uint ReadRegisterLocked(byte register)
    {
        switch (register)
        {
            case IdRegister:
                return (uint)_id << IdShift;
            case VersionRegister:
                return (uint)Version | ((uint)(PinCount - 1) << MaxRedirectionEntryShift);
            case ArbitrationRegister:
                // §3.2.1: the arbitration ID is loaded with the same data whenever the ID register is written.
                return (uint)_id << IdShift;
            case >= RedirectionTableBase and <= RedirectionTableLast:
                var entry = _entries[(register - RedirectionTableBase) / 2];
                return (register & 1) == 0 ? entry.Low : entry.High;
            default:
                return 0;
        }
    }

    private void WriteRegisterLocked(byte register, uint value, ref IoApicOutbox outbox)
    {
        switch (register)
        {
            case IdRegister:
                _id = (byte)((value >> IdShift) & IdMask);
                break;
            case >= RedirectionTableBase and <= RedirectionTableLast:
                WriteRedirectionHalfLocked((register - RedirectionTableBase) / 2, (register & 1) != 0, value, ref outbox);
                break;
            default:
                // Version and arbitration are read-only; other indexes select nothing.
                break;
        }
    }

    private void WriteRedirectionHalfLocked(int pin, bool highHalf, uint value, ref IoApicOutbox outbox)
    {
        var old = _entries[pin];
        ulong written = highHalf
            ? ((ulong)value << 32) | old.Low
            : ((ulong)old.High << 32) | value;
        var entry = old.WithGuestWrite(written);
        // Remote IRR is meaningless for edge entries; switching to edge clears it. Linux relies on this to
        // acknowledge a level interrupt on IOAPICs without an EOI register (toggle to edge and back).
        if (entry.TriggerMode == TriggerMode.Edge)
            entry = entry.WithRemoteIrr(false);
        _entries[pin] = entry;
        if (((old.Raw ^ entry.Raw) & RedirectionEntry.GuestWritableBits) != 0)
            outbox.Changed |= 1u << pin;
        // A level input that is still asserted is seen as soon as the entry allows it (e.g. on unmask).
        TrySendLevelLocked(pin, ref outbox);
    }

    private void EndOfInterruptLocked(byte vector, ref IoApicOutbox outbox)
    {
        for (int pin = 0; pin < PinCount; pin++)
        {
            var entry = _entries[pin];
            if (entry.TriggerMode != TriggerMode.Level || !entry.RemoteIrr || entry.Vector != vector)
                continue;
            uint bit = 1u << pin;
            _entries[pin] = entry.WithRemoteIrr(false);
            outbox.Eois |= bit;
            if ((_pinLevels & bit) == 0 || entry.Masked || (_deferredPins & bit) != 0)
                continue;
            // The line is still held: a device that never lowers it (or a guest that never services it)
            // would make every EOI deliver again at once. Past the threshold, leave it to a timer.
            if (_redeliveries[pin] >= StormThreshold)
            {
                _deferredPins |= bit;
                outbox.Deferred |= bit;
                Interlocked.Increment(ref _stormDeferrals);
                continue;
            }
            _redeliveries[pin]++;
            TrySendLevelLocked(pin, ref outbox);
        }
    }

    /// <summary>Sends a level pin if it is asserted, unmasked, not awaiting an EOI and not deferred.</summary>
    private void TrySendLevelLocked(int pin, ref IoApicOutbox outbox)
    {
        uint bit = 1u << pin;
        var entry = _entries[pin];
        if (entry.TriggerMode != TriggerMode.Level || entry.Masked || entry.RemoteIrr
            || (_pinLevels & bit) == 0 || (_deferredPins & bit) != 0)
            return;
        // §3.2.4 bit 14: remote IRR is set when the local APIC accepts the level interrupt; KVM accepts
        // the MSI synchronously, so it is set on sending.
        _entries[pin] = entry.WithRemoteIrr(true);
        outbox.Deliveries |= bit;
    }

    private void Flush(ref IoApicOutbox outbox)
    {
        if (outbox.IsEmpty)
            return;
        for (int pin = 0; pin < PinCount; pin++)
        {
            if ((outbox.Changed & (1u << pin)) != 0)
                _delivery.EntryChanged(pin, new RedirectionEntry(outbox.Entries[pin]));
        }
        for (int pin = 0; pin < PinCount; pin++)
        {
            if ((outbox.Deliveries & (1u << pin)) != 0)
                _delivery.Deliver(pin, new RedirectionEntry(outbox.Entries[pin]));
        }
        for (int pin = 0; pin < PinCount; pin++)
        {
            if ((outbox.Eois & (1u << pin)) != 0)
                LevelEoi?.Invoke(pin);
        }
        for (int pin = 0; pin < PinCount; pin++)
        {
            if ((outbox.Deferred & (1u << pin)) != 0)
                DeliveryDeferred?.Invoke(pin);
        }
    }

    private static void WriteLittleEndian(Span<byte> data, uint value)
    {
        for (int i = 0; i < data.Length; i++)
            data[i] = (byte)(value >> (8 * i));
    }
}
