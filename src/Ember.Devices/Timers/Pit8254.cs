using System.Collections.Immutable;
using System.Diagnostics;
using Ember.Devices.Bus;
using Ember.Devices.Interrupts;

namespace Ember.Devices.Timers;

/// <summary>
/// The Intel 8254 programmable interval timer of a PC: counters 0–2 at offsets 0–2 (ports 0x40–0x42) and
/// the control word at offset 3 (port 0x43). Counter 0's OUT drives IRQ0; counter 2's gate and OUT are
/// reached through <see cref="PcSpeakerGate"/>; counter 1 (DRAM refresh) drives nothing.
/// <para>
/// Counts are derived from an injectable nanosecond clock, not decremented by host timer ticks: a counter
/// remembers the 1.193182 MHz input-clock tick it was loaded at, so reading it is exact and periodic
/// interrupts do not drift. The VMM arms a host timer for <see cref="NextEventDelay"/> and calls
/// <see cref="OnTimer"/> when it fires. If the host timer falls behind, the rising edges of OUT that were
/// missed are coalesced into one edge on IRQ0 (counted in <see cref="CoalescedEdges"/>): replaying them
/// would be an interrupt storm, and guests keep time from a clocksource, not by counting PIT interrupts.
/// </para>
/// <para>
/// Threat model: the guest writes arbitrary control words and count bytes; every encoding is defined
/// (mode 6/7 alias 2/3, count 0 means the maximum), nothing is buffered beyond one latched status and
/// count per counter, and the number of IRQ0 edges per <see cref="OnTimer"/> is at most one.
/// </para>
/// <para>
/// Locking: the state lock is never held while calling IRQ0. A second lock serialises the calls to IRQ0
/// (so levels arrive in order) and is held while calling it: whoever owns IRQ0 must not call back into
/// this PIT from <see cref="IInterruptLine.SetLevel"/>.
/// </para>
/// </summary>
public sealed class Pit8254 : IBusDevice
{
    /// <summary>The input clock of all three counters: 105/88 MHz, the PC's 14.31818 MHz crystal divided by 12.</summary>
    public const long FrequencyHz = 1_193_182;

    /// <summary>Ports 0x40–0x43.</summary>
    public const ulong Size = 4;

    public const int ChannelCount = 3;

    private const long NanosecondsPerSecond = 1_000_000_000;
    private const long NanosecondsPerTimeSpanTick = 100;
    private const ulong ControlWordOffset = 3;

    // Control word: SC1:SC0 in D7:D6 select the counter; 11 is the read-back command.
    private const int SelectShift = 6;
    private const int ReadBackSelect = 0b11;

    // Read-back command: D5 = COUNT# and D4 = STATUS# (active low), D3–D1 select counters 2–0.
    private const byte ReadBackNoCountBit = 0x20;
    private const byte ReadBackNoStatusBit = 0x10;
    private const int ReadBackCounterShift = 1;

    private const int Irq0Channel = 0;

    private readonly Lock _lock = new();
    private readonly Lock _irqLock = new();
    private readonly IInterruptLine _irq0;
    private readonly Func<long> _clock;
    private readonly long _epochNanoseconds;
    private readonly PitChannel[] _channels;
    private long _lastTick;
    private long _observedTick;
    private bool _irq0Level;
    private long _coalescedEdges;
    private long _droppedAccesses;

    /// <param name="irq0">The wire counter 0's OUT drives (ISA IRQ0 / IOAPIC pin 2).</param>
    /// <param name="nanosecondClock">A monotonic clock in nanoseconds; defaults to <see cref="Stopwatch"/>.</param>
    public Pit8254(IInterruptLine irq0, Func<long>? nanosecondClock = null)
        : this(irq0, nanosecondClock, [new PitChannel(gate: true), new PitChannel(gate: true), new PitChannel(gate: false)])
    {
    }

    private Pit8254(IInterruptLine irq0, Func<long>? nanosecondClock, PitChannel[] channels)
    {
        ArgumentNullException.ThrowIfNull(irq0);
        _irq0 = irq0;
        _clock = nanosecondClock ?? StopwatchNanoseconds;
        _epochNanoseconds = _clock();
        // Counters 0 and 1 have their gates tied high on a PC; counter 2's comes from port 0x61 bit 0.
        _channels = channels;
        // IRQ0 is not driven at construction; it is assumed to be at counter 0's power-on OUT level.
        _irq0Level = channels[Irq0Channel].OutputAt(0);
    }

    /// <summary>Guest accesses ignored because of their offset or width.</summary>
    public long DroppedAccesses => Interlocked.Read(ref _droppedAccesses);

    /// <summary>Rising edges of counter 0 that were folded into another edge because the host timer came late.</summary>
    public long CoalescedEdges => Interlocked.Read(ref _coalescedEdges);

    /// <summary>The clock the PIT runs on, in nanoseconds.</summary>
    public long NowNanoseconds => _clock();

    /// <summary>
    /// When counter 0's OUT next rises, on the <see cref="NowNanoseconds"/> clock, rounded up so that a timer
    /// armed for it never fires early; null when no edge is scheduled (one-shot done, or not programmed).
    /// </summary>
    public long? NextEventNanoseconds
    {
        get
        {
            lock (_lock)
            {
                long? edge = _channels[Irq0Channel].NextRisingEdgeAfter(_observedTick);
                return edge is long tick ? _epochNanoseconds + TickToNanosecondsCeiling(tick) : null;
            }
        }
    }

    /// <summary>How long from now until <see cref="NextEventNanoseconds"/>; zero if it has passed; null if none.</summary>
    public TimeSpan? NextEventDelay
    {
        get
        {
            long? deadline = NextEventNanoseconds;
            if (deadline is not long at)
                return null;
            long delay = Math.Max(0, at - _clock());
            return TimeSpan.FromTicks((delay + NanosecondsPerTimeSpanTick - 1) / NanosecondsPerTimeSpanTick);
        }
    }

    /// <summary>
    /// Brings IRQ0 up to date with the clock: one edge if counter 0's OUT rose at least once since the last
    /// update (missed periods are coalesced), then OUT's present level. The VMM calls this when the timer
    /// it armed from <see cref="NextEventDelay"/> fires, then re-arms.
    /// </summary>
    public void OnTimer()
    {
        lock (_irqLock)
        {
            bool wasHigh, pulse, level;
            lock (_lock)
            {
                long now = NowTick();
                pulse = CatchUpIrq0Locked(now);
                level = _channels[Irq0Channel].OutputAt(now);
                wasHigh = _irq0Level;
                _irq0Level = level;
            }
            DriveIrq0(wasHigh, pulse, level);
        }
    }

    /// <summary>Drives the GATE input of <paramref name="channel"/> (only counter 2's is wired, through port 0x61).</summary>
    public void SetGate(int channel, bool high)
    {
        if ((uint)channel >= ChannelCount)
            return;
        if (channel == Irq0Channel)
        {
            UpdateIrq0After(now => _channels[Irq0Channel].SetGate(high, now));
            return;
        }
        lock (_lock)
            _channels[channel].SetGate(high, NowTick());
    }

    public bool GetGate(int channel)
    {
        if ((uint)channel >= ChannelCount)
            return false;
        lock (_lock)
            return _channels[channel].Gate;
    }

    /// <summary>The OUT pin of <paramref name="channel"/> now.</summary>
    public bool GetOutput(int channel)
    {
        if ((uint)channel >= ChannelCount)
            return false;
        lock (_lock)
            return _channels[channel].OutputAt(NowTick());
    }

    public void Read(ulong offset, Span<byte> data)
    {
        if (data.Length != 1 || offset >= ControlWordOffset)
        {
            // The control word register cannot be read (8254 "Read Operations"); it reads as 0 like any hole.
            Interlocked.Increment(ref _droppedAccesses);
            return;
        }
        lock (_lock)
            data[0] = _channels[(int)offset].ReadByte(NowTick());
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (data.Length != 1 || offset > ControlWordOffset)
        {
            Interlocked.Increment(ref _droppedAccesses);
            return;
        }
        byte value = data[0];
        if (offset == ControlWordOffset)
            UpdateIrq0After(now => WriteControlWordLocked(value, now));
        else if (offset == Irq0Channel)
            UpdateIrq0After(now => _channels[Irq0Channel].WriteCount(value, now));
        else
            lock (_lock)
                _channels[(int)offset].WriteCount(value, NowTick());
    }

    public PitState GetState()
    {
        lock (_lock)
        {
            long now = NowTick();
            var channels = ImmutableArray.CreateBuilder<PitChannelState>(ChannelCount);
            foreach (var channel in _channels)
                channels.Add(channel.GetState());
            return new PitState(now, channels.MoveToImmutable(), _irq0Level, _observedTick);
        }
    }

    /// <summary>
    /// A PIT in <paramref name="state"/> on <paramref name="nanosecondClock"/>, with every tick shifted so
    /// the counters resume where they were when the state was taken. IRQ0 is not driven until the next
    /// update; the VMM restores the line's owner separately.
    /// </summary>
    public static Pit8254 FromState(PitState state, IInterruptLine irq0, Func<long>? nanosecondClock = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Channels.IsDefault || state.Channels.Length != ChannelCount)
            throw new ArgumentException($"a PIT state needs {ChannelCount} counters", nameof(state));
        // A new PIT's time base starts at tick 0, so shifting by −SnapshotTick maps the snapshot's "now" to it.
        long shift = -state.SnapshotTick;
        var channels = new PitChannel[ChannelCount];
        for (int i = 0; i < ChannelCount; i++)
            channels[i] = PitChannel.FromState(state.Channels[i], shift);
        return new Pit8254(irq0, nanosecondClock, channels)
        {
            _irq0Level = state.Irq0Level,
            _observedTick = Math.Min(0, state.ObservedTick + shift),
        };
    }

    private void WriteControlWordLocked(byte value, long now)
    {
        int select = value >> SelectShift;
        if (select != ReadBackSelect)
        {
            _channels[select].WriteControl(value, now);
            return;
        }
        // Read-back (8254 "Read-Back Command"): latch count and/or status of each selected counter. A counter
        // whose count or status is already latched keeps the first latch.
        for (int channel = 0; channel < ChannelCount; channel++)
        {
            if ((value & (1 << (channel + ReadBackCounterShift))) == 0)
                continue;
            if ((value & ReadBackNoStatusBit) == 0)
                _channels[channel].LatchStatus(now);
            if ((value & ReadBackNoCountBit) == 0)
                _channels[channel].LatchCount(now);
        }
    }

    /// <summary>
    /// Signals counter 0's edges up to now under the old programming, applies <paramref name="change"/> at
    /// the same tick, and drives IRQ0 to the resulting OUT level (a control word can raise OUT at once).
    /// </summary>
    private void UpdateIrq0After(Action<long> change)
    {
        lock (_irqLock)
        {
            bool wasHigh, pulse, level;
            lock (_lock)
            {
                long now = NowTick();
                pulse = CatchUpIrq0Locked(now);
                change(now);
                level = _channels[Irq0Channel].OutputAt(now);
                wasHigh = _irq0Level;
                _irq0Level = level;
            }
            DriveIrq0(wasHigh, pulse, level);
        }
    }

    /// <summary>True if counter 0's OUT rose in (observed, now]; counts the surplus edges as coalesced.</summary>
    private bool CatchUpIrq0Locked(long now)
    {
        var channel = _channels[Irq0Channel];
        long? first = channel.NextRisingEdgeAfter(_observedTick);
        _observedTick = now;
        if (first is not long edge || edge > now)
            return false;
        long surplus = channel.EdgesAfter(edge, now);
        if (surplus > 0)
            Interlocked.Add(ref _coalescedEdges, surplus);
        return true;
    }

    private void DriveIrq0(bool wasHigh, bool pulse, bool level)
    {
        bool current = wasHigh;
        if (pulse)
        {
            // OUT rose since the last update. The line may already be high (mode 2's low pulse lasts one
            // 838 ns clock, far shorter than any host timer), so make the edge visible explicitly.
            if (current)
                _irq0.SetLevel(false);
            _irq0.SetLevel(true);
            current = true;
        }
        if (level != current)
            _irq0.SetLevel(level);
    }

    /// <summary>Input-clock ticks since this PIT's epoch; never goes backwards even if the clock does.</summary>
    private long NowTick()
    {
        long elapsed = _clock() - _epochNanoseconds;
        long tick = elapsed <= 0 ? 0 : (long)((Int128)elapsed * FrequencyHz / NanosecondsPerSecond);
        if (tick < _lastTick)
            tick = _lastTick;
        _lastTick = tick;
        return tick;
    }

    /// <summary>The first nanosecond (from the epoch) at which <see cref="NowTick"/> reads at least <paramref name="tick"/>.</summary>
    private static long TickToNanosecondsCeiling(long tick)
    {
        if (tick <= 0)
            return 0;
        Int128 product = (Int128)tick * NanosecondsPerSecond;
        return (long)((product + FrequencyHz - 1) / FrequencyHz);
    }

    private static long StopwatchNanoseconds() =>
        (long)((Int128)Stopwatch.GetTimestamp() * NanosecondsPerSecond / Stopwatch.Frequency);
}
