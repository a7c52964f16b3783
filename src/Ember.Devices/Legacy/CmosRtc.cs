using Ember.Devices.Bus;

namespace Ember.Devices.Legacy;

/// <summary>
/// The MC146818-compatible real-time clock and CMOS RAM of the PC: an index port at offset
/// <see cref="IndexPortOffset"/> (bit 7 is the NMI mask on a PC; it is ignored for indexing)
/// and a data port at offset <see cref="DataPortOffset"/>.
/// <para>
/// Time comes from a <see cref="TimeProvider"/> (UTC) plus an offset the guest sets by writing
/// the time registers, so the clock never drifts from the host and needs no timer. Register B
/// selects BCD or binary (DM) and 12- or 24-hour (24/12) encoding, applied on every access.
/// While B.SET is on, the time is frozen and writes go to held fields that take effect (if they
/// form a valid date) when SET is cleared. Register A reports UIP for the last 244 µs of each
/// second, which is what lets Linux's mc146818_get_time read a consistent time. The alarm bytes
/// are plain RAM and no interrupts are raised (register C always reads 0, D reads VRT).
/// </para>
/// Threat model: the index is masked to 7 bits so every access stays inside the 128 fixed
/// bytes; a time write that does not decode (bad BCD, out of range, impossible date) is
/// dropped and counted; accesses other than one byte wide at offsets 0–1 are dropped.
/// </summary>
public sealed class CmosRtc : IBusDevice
{
    public const ulong IndexPortOffset = 0;
    public const ulong DataPortOffset = 1;
    public const ulong Length = 2;

    /// <summary>CMOS index of the century byte; the FADT's CENTURY field must name it (ACPI 6.5 §5.2.9).</summary>
    public const byte CenturyIndex = 0x32;

    /// <summary>Extended memory above 16 MiB in 64 KiB units, low/high byte (read by SeaBIOS-style firmware).</summary>
    public const byte ExtendedMemoryAbove16MiBLowIndex = 0x34;
    public const byte ExtendedMemoryAbove16MiBHighIndex = 0x35;

    /// <summary>Memory above 4 GiB in 64 KiB units, three bytes low to high.</summary>
    public const byte MemoryAbove4GiBLowIndex = 0x5B;
    public const byte MemoryAbove4GiBMiddleIndex = 0x5C;
    public const byte MemoryAbove4GiBHighIndex = 0x5D;

    /// <summary>Size of the MC146818 address space: 14 clock registers and 114 bytes of RAM.</summary>
    public const int RegisterCount = 128;

    private const byte IndexMask = 0x7F; // bit 7 of the index port is the PC's NMI disable
    /// <summary>The index port is write-only on the PC AT; reads see a floating bus.</summary>
    private const byte IndexPortReadValue = 0xFF;

    // Clock register indices (MC146818A data sheet, "Address Map").
    private const byte SecondsIndex = 0x00;
    private const byte MinutesIndex = 0x02;
    private const byte HoursIndex = 0x04;
    private const byte DayOfWeekIndex = 0x06;
    private const byte DayOfMonthIndex = 0x07;
    private const byte MonthIndex = 0x08;
    private const byte YearIndex = 0x09;
    private const byte RegisterAIndex = 0x0A;
    private const byte RegisterBIndex = 0x0B;
    private const byte RegisterCIndex = 0x0C;
    private const byte RegisterDIndex = 0x0D;

    // Register A: UIP is read-only; DV = 010 (32.768 kHz time base) and RS = 0110 (1024 Hz) as a BIOS leaves it.
    private const byte RegisterAUpdateInProgress = 0x80;
    private const byte RegisterAWritableMask = 0x7F;
    private const byte InitialRegisterA = 0x26;

    // Register B bits.
    private const byte RegisterBSet = 0x80;
    private const byte RegisterBBinary = 0x04;       // DM: 1 = binary, 0 = BCD
    private const byte RegisterB24Hour = 0x02;
    private const byte InitialRegisterB = RegisterB24Hour; // BCD, 24-hour, as PC firmware leaves it

    /// <summary>Register D bit 7: valid RAM and time (the battery is fine).</summary>
    private const byte RegisterDValidRamAndTime = 0x80;

    /// <summary>12-hour mode marks PM in bit 7 of the hours byte.</summary>
    private const byte HourPm = 0x80;

    /// <summary>UIP is set 244 µs before each update (data sheet, "Update Cycle": tBUC).</summary>
    private static readonly long UpdateInProgressTicks = TimeSpan.FromMicroseconds(244).Ticks;

    private const ulong SixteenMiB = 16UL << 20;
    private const int SixtyFourKiBShift = 16;
    private const ulong MaxAbove16MiBUnits = 0xFFFF;
    private const ulong MaxAbove4GiBUnits = 0xFF_FFFF;

    // Slots of a decoded time, in the order FieldsOf fills them.
    private const int SecondSlot = 0, MinuteSlot = 1, HourSlot = 2, DayOfWeekSlot = 3, DaySlot = 4,
        MonthSlot = 5, YearSlot = 6, CenturySlot = 7, SlotCount = 8;

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly byte[] _registers = new byte[RegisterCount];
    private byte _index;
    private TimeSpan _clockOffset;
    private byte[]? _heldTime;
    private long _unhandledAccesses;
    private long _rejectedTimeWrites;

    public CmosRtc(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _registers[RegisterAIndex] = InitialRegisterA;
        _registers[RegisterBIndex] = InitialRegisterB;
    }

    /// <summary>Accesses other than one byte wide at the two ports.</summary>
    public long UnhandledAccesses => Interlocked.Read(ref _unhandledAccesses);

    /// <summary>Guest time writes that did not decode to a valid time and were dropped.</summary>
    public long RejectedTimeWrites => Interlocked.Read(ref _rejectedTimeWrites);

    /// <summary>The time the guest currently sees (UTC), ignoring a SET freeze.</summary>
    public DateTime GuestTime
    {
        get { lock (_lock) return GuestNowLocked(); }
    }

    /// <summary>
    /// Publishes the RAM size the way PC firmware expects it: bytes 0x34/0x35 hold RAM between
    /// 16 MiB and 4 GiB in 64 KiB units, 0x5B–0x5D RAM above 4 GiB in 64 KiB units. Each is
    /// saturated at its field width.
    /// </summary>
    public void SetMemorySize(ulong ramBelow4GiBBytes, ulong ramAbove4GiBBytes)
    {
        ulong above16MiB = ramBelow4GiBBytes > SixteenMiB
            ? Math.Min((ramBelow4GiBBytes - SixteenMiB) >> SixtyFourKiBShift, MaxAbove16MiBUnits)
            : 0;
        ulong above4GiB = Math.Min(ramAbove4GiBBytes >> SixtyFourKiBShift, MaxAbove4GiBUnits);
        lock (_lock)
        {
            _registers[ExtendedMemoryAbove16MiBLowIndex] = (byte)above16MiB;
            _registers[ExtendedMemoryAbove16MiBHighIndex] = (byte)(above16MiB >> 8);
            _registers[MemoryAbove4GiBLowIndex] = (byte)above4GiB;
            _registers[MemoryAbove4GiBMiddleIndex] = (byte)(above4GiB >> 8);
            _registers[MemoryAbove4GiBHighIndex] = (byte)(above4GiB >> 16);
        }
    }

    public void Read(ulong offset, Span<byte> data)
    {
        if (data.Length != 1 || offset >= Length)
        {
            Interlocked.Increment(ref _unhandledAccesses);
            return;
        }
        if (offset == IndexPortOffset)
        {
            data[0] = IndexPortReadValue;
            return;
        }
        lock (_lock)
            data[0] = ReadRegisterLocked(_index);
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (data.Length != 1 || offset >= Length)
        {
            Interlocked.Increment(ref _unhandledAccesses);
            return;
        }
        lock (_lock)
        {
            if (offset == IndexPortOffset)
                _index = (byte)(data[0] & IndexMask);
            else
                WriteRegisterLocked(_index, data[0]);
        }
    }

    private bool BinaryMode => (_registers[RegisterBIndex] & RegisterBBinary) != 0;
    private bool TwentyFourHourMode => (_registers[RegisterBIndex] & RegisterB24Hour) != 0;

    private static int TimeSlotOf(byte index) => index switch
    {
        SecondsIndex => SecondSlot,
        MinutesIndex => MinuteSlot,
        HoursIndex => HourSlot,
        DayOfWeekIndex => DayOfWeekSlot,
        DayOfMonthIndex => DaySlot,
        MonthIndex => MonthSlot,
        YearIndex => YearSlot,
        CenturyIndex => CenturySlot,
        _ => -1,
    };

    private byte ReadRegisterLocked(byte index)
    {
        int slot = TimeSlotOf(index);
        if (slot >= 0)
        {
            Span<byte> fields = stackalloc byte[SlotCount];
            if (_heldTime is not null)
                _heldTime.CopyTo(fields);
            else
                FieldsOf(GuestNowLocked(), fields);
            return EncodeField(slot, fields[slot]);
        }
        return index switch
        {
            RegisterAIndex => (byte)(_registers[RegisterAIndex] | (UpdateInProgressLocked() ? RegisterAUpdateInProgress : 0)),
            // No interrupt sources are modelled, so no flags are ever latched.
            RegisterCIndex => 0,
            RegisterDIndex => RegisterDValidRamAndTime,
            _ => _registers[index],
        };
    }

    private void WriteRegisterLocked(byte index, byte value)
    {
        int slot = TimeSlotOf(index);
        if (slot >= 0)
        {
            WriteTimeFieldLocked(slot, value);
            return;
        }
        switch (index)
        {
            case RegisterAIndex:
                _registers[RegisterAIndex] = (byte)(value & RegisterAWritableMask);
                break;
            case RegisterBIndex:
                WriteRegisterBLocked(value);
                break;
            case RegisterCIndex:
            case RegisterDIndex:
                // Read-only status registers.
                break;
            default:
                _registers[index] = value;
                break;
        }
    }

    private void WriteRegisterBLocked(byte value)
    {
        bool wasSet = _heldTime is not null;
        bool set = (value & RegisterBSet) != 0;
        _registers[RegisterBIndex] = value;
        if (set && !wasSet)
        {
            // SET stops the update cycle: freeze the current time so the guest can rewrite it field by field.
            _heldTime = new byte[SlotCount];
            FieldsOf(GuestNowLocked(), _heldTime);
        }
        else if (!set && wasSet)
        {
            if (TryBuild(_heldTime!, out var newTime))
                _clockOffset = newTime - HostNowLocked();
            else
                Interlocked.Increment(ref _rejectedTimeWrites);
            _heldTime = null;
        }
    }

    private void WriteTimeFieldLocked(int slot, byte raw)
    {
        if (!TryDecodeField(slot, raw, out byte value))
        {
            Interlocked.Increment(ref _rejectedTimeWrites);
            return;
        }
        if (_heldTime is not null)
        {
            // Intermediate dates while the guest rewrites fields one by one may be impossible; check on SET release.
            _heldTime[slot] = value;
            return;
        }
        if (slot == DayOfWeekSlot)
            return; // derived from the date while the clock runs
        Span<byte> fields = stackalloc byte[SlotCount];
        FieldsOf(GuestNowLocked(), fields);
        fields[slot] = value;
        if (TryBuild(fields, out var newTime))
            _clockOffset = newTime - HostNowLocked();
        else
            Interlocked.Increment(ref _rejectedTimeWrites);
    }

    private DateTime HostNowLocked() => _time.GetUtcNow().UtcDateTime;

    private DateTime GuestNowLocked()
    {
        // Saturate: a guest may set 9999-12-31 23:59:59 and must not make the next read throw.
        long ticks = HostNowLocked().Ticks;
        long offset = _clockOffset.Ticks;
        long guest = offset > 0 && ticks > DateTime.MaxValue.Ticks - offset ? DateTime.MaxValue.Ticks
            : offset < 0 && ticks < DateTime.MinValue.Ticks - offset ? DateTime.MinValue.Ticks
            : ticks + offset;
        return new DateTime(guest, DateTimeKind.Utc);
    }

    private bool UpdateInProgressLocked()
    {
        if (_heldTime is not null)
            return false; // SET inhibits updates
        long intoSecond = GuestNowLocked().Ticks % TimeSpan.TicksPerSecond;
        return intoSecond >= TimeSpan.TicksPerSecond - UpdateInProgressTicks;
    }

    private static void FieldsOf(DateTime time, Span<byte> fields)
    {
        fields[SecondSlot] = (byte)time.Second;
        fields[MinuteSlot] = (byte)time.Minute;
        fields[HourSlot] = (byte)time.Hour;
        fields[DayOfWeekSlot] = (byte)((int)time.DayOfWeek + 1); // MC146818: Sunday = 1
        fields[DaySlot] = (byte)time.Day;
        fields[MonthSlot] = (byte)time.Month;
        fields[YearSlot] = (byte)(time.Year % 100);
        fields[CenturySlot] = (byte)(time.Year / 100);
    }

    private static bool TryBuild(ReadOnlySpan<byte> fields, out DateTime time)
    {
        int year = fields[CenturySlot] * 100 + fields[YearSlot];
        int month = fields[MonthSlot];
        // Every field is checked again: held fields may come from a snapshot, and DateTime must never throw here.
        if (year is < 1 or > 9999 || month is < 1 or > 12 || fields[DaySlot] < 1 || fields[DaySlot] > DateTime.DaysInMonth(year, month)
            || fields[HourSlot] > 23 || fields[MinuteSlot] > 59 || fields[SecondSlot] > 59)
        {
            time = default;
            return false;
        }
        time = new DateTime(year, month, fields[DaySlot], fields[HourSlot], fields[MinuteSlot], fields[SecondSlot], DateTimeKind.Utc);
        return true;
    }

    private byte EncodeField(int slot, byte value)
    {
        if (slot != HourSlot || TwentyFourHourMode)
            return EncodeNumber(value);
        // 12-hour mode: 1–12 with bit 7 set for PM; midnight is 12 AM, noon 12 PM.
        int hour12 = value % 12 == 0 ? 12 : value % 12;
        return (byte)(EncodeNumber((byte)hour12) | (value >= 12 ? HourPm : 0));
    }

    private byte EncodeNumber(byte value) => BinaryMode ? value : (byte)((value / 10) << 4 | (value % 10));

    private bool TryDecodeField(int slot, byte raw, out byte value)
    {
        value = 0;
        if (slot == HourSlot && !TwentyFourHourMode)
        {
            if (!TryDecodeNumber((byte)(raw & ~HourPm), out byte hour12) || hour12 is < 1 or > 12)
                return false;
            value = (byte)(hour12 % 12 + ((raw & HourPm) != 0 ? 12 : 0));
            return true;
        }
        if (!TryDecodeNumber(raw, out value))
            return false;
        return slot switch
        {
            SecondSlot or MinuteSlot => value <= 59,
            HourSlot => value <= 23,
            DayOfWeekSlot => value is >= 1 and <= 7,
            DaySlot => value is >= 1 and <= 31,
            MonthSlot => value is >= 1 and <= 12,
            _ => value <= 99, // year, century
        };
    }

    private bool TryDecodeNumber(byte raw, out byte value)
    {
        if (BinaryMode)
        {
            value = raw;
            return true;
        }
        int high = raw >> 4, low = raw & 0x0F;
        value = (byte)(high * 10 + low);
        return high <= 9 && low <= 9;
    }

    public CmosRtcState GetState()
    {
        lock (_lock)
            return new CmosRtcState(_index, (byte[])_registers.Clone(), _clockOffset, (byte[]?)_heldTime?.Clone());
    }

    public static CmosRtc FromState(CmosRtcState state, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(state.Registers);
        if (state.Registers.Length != RegisterCount)
            throw new ArgumentException($"CMOS state has {state.Registers.Length} bytes, expected {RegisterCount}", nameof(state));
        if (state.HeldTime is not null && state.HeldTime.Length != SlotCount)
            throw new ArgumentException($"held time has {state.HeldTime.Length} fields, expected {SlotCount}", nameof(state));
        var rtc = new CmosRtc(time);
        state.Registers.CopyTo(rtc._registers, 0);
        rtc._index = (byte)(state.Index & IndexMask);
        rtc._clockOffset = state.ClockOffset;
        rtc._heldTime = (byte[]?)state.HeldTime?.Clone();
        return rtc;
    }
}
