namespace Ember.Devices.Timers;

/// <summary>
/// One 8254 counter, computed from time instead of stepped: the counting element remembers the input-clock
/// tick its count was loaded at, and the count and OUT at any later tick follow by arithmetic (8254
/// datasheet, "Mode Definitions"). Nothing drifts because nothing accumulates. Not thread-safe; the
/// <see cref="Pit8254"/> holds the lock. Every method takes "now" as a tick number.
/// </summary>
internal sealed class PitChannel
{
    private const int BinaryModulus = 65_536;
    private const int BcdModulus = 10_000;

    // Control word fields (8254 "Control Word Format").
    private const int AccessShift = 4;
    private const int AccessMask = 0b11;
    private const int ModeShift = 1;
    private const int ModeMask = 0b111;
    private const byte BcdBit = 0x01;
    private const byte ControlBitsMask = 0x3F;

    // Status byte (8254 "Read-Back Command", status format): OUTPUT in D7, NULL COUNT in D6, D5–D0 the control bits.
    private const byte StatusOutputBit = 0x80;
    private const byte StatusNullCountBit = 0x40;

    // "Prior to initialization, the mode, count, and output of all counters is undefined." Start as a PC
    // firmware leaves them: LSB-then-MSB, mode 3, binary, OUT high, so that the guest's first control word
    // for a periodic mode does not produce an edge of its own.
    private const byte PowerOnControlBits = 0x36;

    private byte _controlBits = PowerOnControlBits;
    private int _reload = BinaryModulus;
    private bool _writeMsbNext;
    private byte _writeLsb;
    private bool _readMsbNext;
    private bool _countLatched;
    private ushort _latchedCount;
    private bool _latchedMsbNext;
    private bool _statusLatched;
    private byte _latchedStatus;
    private PitPhase _phase = PitPhase.Idle;
    private long _baseTick;
    private int _baseCount = BinaryModulus;
    private bool _terminalPassed;
    private int _heldCount;
    private bool _idleOutput = true;
    private int _pendingReload;
    private long _pendingTick;
    private bool _nullCount = true;
    private long _nullClearsAtTick = long.MaxValue;

    public PitChannel(bool gate) => Gate = gate;

    public bool Gate { get; private set; }

    public PitAccessMode Access => (PitAccessMode)((_controlBits >> AccessShift) & AccessMask);

    /// <summary>The operating mode 0–5; the undefined encodings 6 and 7 are modes 2 and 3 (8254: "X10", "X11").</summary>
    public int Mode
    {
        get
        {
            int mode = (_controlBits >> ModeShift) & ModeMask;
            return mode > 5 ? mode - 4 : mode;
        }
    }

    public bool Bcd => (_controlBits & BcdBit) != 0;

    private int Modulus => Bcd ? BcdModulus : BinaryModulus;

    private bool IsPeriodic => Mode is 2 or 3;

    /// <summary>The current period of a periodic mode in ticks (the count in the counting element).</summary>
    public int Period => _baseCount;

    /// <summary>A control word with RW ≠ 00 for this counter: reprogram it and stop counting until a count arrives.</summary>
    public void WriteControl(byte value, long now)
    {
        if (((value >> AccessShift) & AccessMask) == (int)PitAccessMode.LatchCommand)
        {
            LatchCount(now);
            return;
        }
        // "When a Control Word is written to a Counter, all Control Logic is immediately reset and OUT goes
        // to a known initial state": low for mode 0, high for the others. The count element keeps what it
        // showed until a new count is loaded.
        _heldCount = CountAt(now);
        _controlBits = (byte)(value & ControlBitsMask);
        _writeMsbNext = false;
        _readMsbNext = false;
        _countLatched = false;
        _latchedMsbNext = false;
        _statusLatched = false;
        _phase = PitPhase.Idle;
        _pendingReload = 0;
        _terminalPassed = false;
        _idleOutput = Mode != 0;
        _nullCount = true;
        _nullClearsAtTick = long.MaxValue;
    }

    /// <summary>A byte written to the counter's port: part or all of a new count, per the access mode.</summary>
    public void WriteCount(byte value, long now)
    {
        switch (Access)
        {
            case PitAccessMode.LsbOnly:
                LoadCount(value, now);
                break;
            case PitAccessMode.MsbOnly:
                LoadCount(value << 8, now);
                break;
            default:
                if (!_writeMsbNext)
                {
                    _writeLsb = value;
                    _writeMsbNext = true;
                    // Mode 0: "Writing the first byte disables counting. OUT is set low immediately."
                    if (Mode == 0 && _phase != PitPhase.Idle)
                    {
                        _heldCount = CountAt(now);
                        _phase = PitPhase.Idle;
                        _idleOutput = false;
                    }
                }
                else
                {
                    _writeMsbNext = false;
                    LoadCount(_writeLsb | (value << 8), now);
                }
                break;
        }
    }

    /// <summary>The counter latch command: freeze the count for reading; ignored while a latched count is unread.</summary>
    public void LatchCount(long now)
    {
        if (_countLatched)
            return;
        _latchedCount = Encode(CountAt(now));
        _countLatched = true;
        _latchedMsbNext = false;
    }

    /// <summary>The read-back command's status latch; ignored while a latched status is unread.</summary>
    public void LatchStatus(long now)
    {
        if (_statusLatched)
            return;
        _latchedStatus = (byte)((OutputAt(now) ? StatusOutputBit : 0) | (IsNullCount(now) ? StatusNullCountBit : 0) | _controlBits);
        _statusLatched = true;
    }

    /// <summary>A byte read from the counter's port: latched status first, then a latched count, else the live count.</summary>
    public byte ReadByte(long now)
    {
        if (_statusLatched)
        {
            _statusLatched = false;
            return _latchedStatus;
        }
        if (_countLatched)
        {
            switch (Access)
            {
                case PitAccessMode.LsbOnly:
                    _countLatched = false;
                    return (byte)_latchedCount;
                case PitAccessMode.MsbOnly:
                    _countLatched = false;
                    return (byte)(_latchedCount >> 8);
                default:
                    if (!_latchedMsbNext)
                    {
                        _latchedMsbNext = true;
                        return (byte)_latchedCount;
                    }
                    _latchedMsbNext = false;
                    _countLatched = false;
                    return (byte)(_latchedCount >> 8);
            }
        }
        ushort count = Encode(CountAt(now));
        switch (Access)
        {
            case PitAccessMode.LsbOnly:
                return (byte)count;
            case PitAccessMode.MsbOnly:
                return (byte)(count >> 8);
            default:
                _readMsbNext = !_readMsbNext;
                return _readMsbNext ? (byte)count : (byte)(count >> 8);
        }
    }

    /// <summary>Drives the GATE input (8254 "Gate" table per mode).</summary>
    public void SetGate(bool high, long now)
    {
        if (high == Gate)
            return;
        Gate = high;
        if (high)
            GateRose(now);
        else
            GateFell(now);
    }

    /// <summary>The value in the counting element at <paramref name="now"/>, 0 … modulus − 1 (binary).</summary>
    public int CountAt(long now)
    {
        if (_phase != PitPhase.Running)
            return _heldCount;
        FoldPendingReload(now);
        long k = now - _baseTick;
        int modulus = Modulus;
        if (k < 0)
            return _baseCount % modulus;
        long n = _baseCount;
        long value;
        switch (Mode)
        {
            case 2:
                value = n - k % n;
                break;
            case 3:
                value = SquareWaveCount(n, k % n);
                break;
            default:
                // Modes 0, 1, 4, 5 count down and wrap through the full modulus after terminal count.
                value = (n - k) % modulus;
                if (value < 0)
                    value += modulus;
                break;
        }
        return (int)(value % modulus);
    }

    /// <summary>The OUT pin at <paramref name="now"/>.</summary>
    public bool OutputAt(long now)
    {
        switch (_phase)
        {
            case PitPhase.Idle:
                return _idleOutput;
            case PitPhase.Waiting:
                // Modes 1/5 before a trigger, modes 2/3 with the gate low: OUT is high.
                return true;
            case PitPhase.Suspended:
                // Mode 0 keeps OUT as it was (high once terminal count passed); mode 4's OUT is high.
                return Mode != 0 || _terminalPassed;
        }
        FoldPendingReload(now);
        long k = now - _baseTick;
        long n = _baseCount;
        if (k < 0)
            return Mode != 0;
        return Mode switch
        {
            0 => _terminalPassed || k >= n,
            1 => k >= n,
            // Mode 2: OUT low for the one clock when the count is 1. A count of 1 is illegal; OUT stays high.
            2 => n <= 1 || k % n != n - 1,
            // Mode 3: high for ⌈N/2⌉ clocks, low for ⌊N/2⌋.
            3 => n <= 1 || k % n < (n + 1) / 2,
            // Modes 4/5: OUT strobes low for the one clock at terminal count, once per count.
            _ => _terminalPassed || k != n,
        };
    }

    /// <summary>The first tick after <paramref name="after"/> at which OUT rises, or null if none is scheduled.</summary>
    public long? NextRisingEdgeAfter(long after)
    {
        if (_phase != PitPhase.Running)
            return null;
        FoldPendingReload(after);
        long n = _baseCount;
        long edge;
        switch (Mode)
        {
            case 0:
            case 1:
                if (_terminalPassed)
                    return null;
                edge = _baseTick + n;
                break;
            case 2:
            case 3:
                // OUT rises as each period ends and the count reloads: base + N, base + 2N, …
                if (n <= 1)
                    return null;
                long k = after - _baseTick;
                edge = k < n ? _baseTick + n : _baseTick + (k / n + 1) * n;
                break;
            default:
                if (_terminalPassed)
                    return null;
                edge = _baseTick + n + 1;
                break;
        }
        return edge > after ? edge : null;
    }

    /// <summary>For periodic modes, how many further rising edges fall in (first, until]; 0 otherwise.</summary>
    public long EdgesAfter(long first, long until)
    {
        if (!IsPeriodic || _phase != PitPhase.Running || until <= first)
            return 0;
        FoldPendingReload(until);
        long n = _baseCount;
        return n <= 1 ? 0 : (until - first) / n;
    }

    public PitChannelState GetState() => new(
        _controlBits, _reload, Gate, _writeMsbNext, _writeLsb, _readMsbNext, _countLatched, _latchedCount, _latchedMsbNext,
        _statusLatched, _latchedStatus, _phase, _baseTick, _baseCount, _terminalPassed, _heldCount, _idleOutput,
        _pendingReload, _pendingTick, _nullCount, _nullClearsAtTick);

    /// <summary>A counter in <paramref name="state"/>, with every tick moved by <paramref name="tickShift"/>.</summary>
    public static PitChannel FromState(PitChannelState state, long tickShift)
    {
        ArgumentNullException.ThrowIfNull(state);
        var channel = new PitChannel(state.Gate)
        {
            _controlBits = (byte)(state.ControlBits & ControlBitsMask),
            _writeMsbNext = state.WriteMsbNext,
            _writeLsb = state.WriteLsb,
            _readMsbNext = state.ReadMsbNext,
            _countLatched = state.CountLatched,
            _latchedCount = state.LatchedCount,
            _latchedMsbNext = state.LatchedMsbNext,
            _statusLatched = state.StatusLatched,
            _latchedStatus = state.LatchedStatus,
            _phase = Enum.IsDefined(state.Phase) ? state.Phase : PitPhase.Idle,
            _baseTick = state.BaseTick + tickShift,
            _terminalPassed = state.TerminalPassed,
            _idleOutput = state.IdleOutput,
            _pendingTick = state.PendingTick + tickShift,
            _nullCount = state.NullCount,
            _nullClearsAtTick = state.NullClearsAtTick == long.MaxValue ? long.MaxValue : state.NullClearsAtTick + tickShift,
        };
        int modulus = channel.Modulus;
        channel._reload = Math.Clamp(state.Reload, 1, modulus);
        channel._baseCount = Math.Clamp(state.BaseCount, 1, modulus);
        channel._heldCount = Math.Clamp(state.HeldCount, 0, modulus - 1);
        channel._pendingReload = state.PendingReload == 0 ? 0 : Math.Clamp(state.PendingReload, 1, modulus);
        return channel;
    }

    private void LoadCount(int raw, long now)
    {
        int modulus = Modulus;
        int n = (Bcd ? DecodeBcd(raw) : raw) % modulus;
        // "The largest possible initial count is 0": 2^16 in binary, 10^4 in BCD.
        if (n == 0)
            n = modulus;
        _reload = n;
        _nullCount = true;
        switch (Mode)
        {
            case 0:
            case 4:
                // Loaded on the next CLK pulse, which does not decrement: OUT changes N + 1 clocks after the write.
                _terminalPassed = false;
                _baseCount = n;
                _nullClearsAtTick = now + 1;
                if (Gate)
                {
                    _phase = PitPhase.Running;
                    _baseTick = now + 1;
                }
                else
                {
                    _phase = PitPhase.Suspended;
                    _heldCount = n % modulus;
                }
                break;
            case 1:
            case 5:
                // The count is taken on the next gate trigger, also when re-written while counting.
                if (_phase == PitPhase.Idle)
                    _phase = PitPhase.Waiting;
                _nullClearsAtTick = long.MaxValue;
                break;
            default:
                if (_phase == PitPhase.Running)
                {
                    FoldPendingReload(now);
                    if (now < _baseTick)
                    {
                        // The previous count has not even been loaded yet: replace it.
                        _baseCount = n;
                        _nullClearsAtTick = _baseTick;
                    }
                    else
                    {
                        // "Reloading the count mid-period does not take effect until after the period."
                        // (Mode 3 really switches at the end of the current half-cycle; switching at the end
                        // of the period keeps the arithmetic periodic and differs by at most N/2 clocks once.)
                        long k = now - _baseTick;
                        _pendingReload = n;
                        _pendingTick = _baseTick + (k / _baseCount + 1) * _baseCount;
                        _nullClearsAtTick = _pendingTick;
                    }
                }
                else if (Gate)
                {
                    _phase = PitPhase.Running;
                    _baseTick = now + 1;
                    _baseCount = n;
                    _pendingReload = 0;
                    _nullClearsAtTick = now + 1;
                }
                else
                {
                    _phase = PitPhase.Waiting;
                    _nullClearsAtTick = long.MaxValue;
                }
                break;
        }
    }

    private void GateRose(long now)
    {
        switch (Mode)
        {
            case 1:
            case 5:
            case 2:
            case 3:
                // Modes 1/5: the rising edge triggers; modes 2/3: it reloads and restarts the count. Either way
                // the count register is loaded on the next CLK pulse.
                if (_phase is PitPhase.Waiting or PitPhase.Running)
                {
                    _phase = PitPhase.Running;
                    _baseTick = now + 1;
                    _baseCount = _reload;
                    _pendingReload = 0;
                    _terminalPassed = false;
                    if (_nullCount)
                        _nullClearsAtTick = Math.Min(_nullClearsAtTick, now + 1);
                }
                break;
            default:
                // Modes 0/4: counting resumes from the frozen count.
                if (_phase == PitPhase.Suspended)
                {
                    _phase = PitPhase.Running;
                    _baseTick = now;
                }
                break;
        }
    }

    private void GateFell(long now)
    {
        switch (Mode)
        {
            case 2:
            case 3:
                // Gate low stops the count and forces OUT high; the next rising edge reloads.
                if (_phase == PitPhase.Running)
                {
                    _heldCount = CountAt(now);
                    _phase = PitPhase.Waiting;
                    _pendingReload = 0;
                }
                break;
            case 0:
            case 4:
                // Gate low suspends counting; OUT is unaffected.
                if (_phase == PitPhase.Running)
                {
                    int count = CountAt(now);
                    long k = now - _baseTick;
                    _terminalPassed = _terminalPassed || (k >= 0 && k >= _baseCount);
                    _heldCount = count;
                    _baseCount = count == 0 ? Modulus : count;
                    _phase = PitPhase.Suspended;
                }
                break;
            default:
                // Modes 1/5: a falling gate does not affect counting.
                break;
        }
    }

    /// <summary>Applies a count written during a periodic mode once its period boundary has passed.</summary>
    private void FoldPendingReload(long now)
    {
        if (_pendingReload == 0 || now < _pendingTick)
            return;
        _baseTick = _pendingTick;
        _baseCount = _pendingReload;
        _pendingReload = 0;
    }

    private bool IsNullCount(long now) => _nullCount && now < _nullClearsAtTick;

    /// <summary>
    /// Mode 3's count at phase <paramref name="p"/> of a period of <paramref name="n"/> clocks, decremented by
    /// two per clock in each half (8254 "Mode 3"). An even N is loaded as N; an odd N as N − 1, with OUT high
    /// for (N + 1)/2 clocks and low for (N − 1)/2.
    /// </summary>
    private static long SquareWaveCount(long n, long p)
    {
        long high = (n + 1) / 2;
        long inHalf = p < high ? p : p - high;
        long loaded = (n & 1) == 0 ? n : n - 1;
        return loaded - 2 * inHalf;
    }

    private ushort Encode(int count) => Bcd ? EncodeBcd(count) : (ushort)count;

    private static ushort EncodeBcd(int value)
    {
        int result = 0;
        for (int digit = 0; digit < 4; digit++)
        {
            result |= (value % 10) << (4 * digit);
            value /= 10;
        }
        return (ushort)result;
    }

    /// <summary>Decimal value of four BCD digits; a guest's non-decimal nibbles (A–F) count as 10–15.</summary>
    private static int DecodeBcd(int raw)
    {
        int value = 0;
        for (int digit = 3; digit >= 0; digit--)
            value = value * 10 + ((raw >> (4 * digit)) & 0xF);
        return value;
    }
}
