using Ember.Devices.Bus;
using Ember.Devices.Tests.Fakes;
using Ember.Devices.Timers;
using Xunit;

namespace Ember.Devices.Tests.Timers;

public sealed class Pit8254Tests
{
    // An arbitrary, non-zero start so the PIT's epoch handling is exercised.
    private const long Start = 7_123_456_789;
    private const ulong Counter0 = 0;
    private const ulong Counter2 = 2;
    private const ulong Control = 3;

    private readonly ManualClock _clock = new(Start);
    private readonly RecordingInterruptLine _irq0 = new();
    private readonly Pit8254 _pit;

    public Pit8254Tests() => _pit = new Pit8254(_irq0, _clock.Read);

    /// <summary>The clock time at which <paramref name="ticks"/> input clocks have elapsed since the start.</summary>
    private static long AtTick(long ticks) =>
        Start + (long)(((Int128)ticks * 1_000_000_000 + Pit8254.FrequencyHz - 1) / Pit8254.FrequencyHz);

    private void SetTick(long ticks) => _clock.Nanoseconds = AtTick(ticks);

    private static void Out(IBusDevice device, ulong offset, byte value) => device.Write(offset, [value]);

    private static byte In(IBusDevice device, ulong offset)
    {
        Span<byte> data = stackalloc byte[1];
        device.Read(offset, data);
        return data[0];
    }

    private void Program(ulong counter, byte controlWord, int count)
    {
        Out(_pit, Control, controlWord);
        Out(_pit, counter, (byte)count);
        Out(_pit, counter, (byte)(count >> 8));
    }

    private int ReadCount(ulong counter)
    {
        int lsb = In(_pit, counter);
        return lsb | (In(_pit, counter) << 8);
    }

    [Fact]
    public void Mode2RaisesOneEdgePerPeriodAtTheExactTick()
    {
        const int period = 1193;
        Program(Counter0, 0x34, period); // counter 0, LSB/MSB, mode 2, binary

        // Loaded on the next clock (tick 1); OUT rises as each period ends.
        Assert.Equal(AtTick(1 + period), _pit.NextEventNanoseconds);
        SetTick(period);
        _pit.OnTimer();
        Assert.Equal(0, _irq0.RisingEdges);

        SetTick(1 + period);
        _pit.OnTimer();
        Assert.Equal(1, _irq0.RisingEdges);
        Assert.Equal(AtTick(1 + 2 * period), _pit.NextEventNanoseconds);
    }

    [Fact]
    public void NoDriftOverManyPeriods()
    {
        const int period = 11_932; // ~10 ms, does not divide a second evenly
        const int periods = 5_000;
        Program(Counter0, 0x34, period);

        for (int i = 0; i < periods; i++)
        {
            long? deadline = _pit.NextEventNanoseconds;
            Assert.NotNull(deadline);
            _clock.Nanoseconds = deadline.Value;
            _pit.OnTimer();
        }

        Assert.Equal(periods, _irq0.RisingEdges);
        Assert.Equal(0, _pit.CoalescedEdges);
        Assert.Equal(AtTick(1 + (long)(periods + 1) * period), _pit.NextEventNanoseconds);
    }

    [Fact]
    public void Mode3IsASquareWaveWithOneEdgePerPeriod()
    {
        const int period = 1000;
        Program(Counter0, 0x36, period); // mode 3

        SetTick(1 + 499);
        Assert.True(_pit.GetOutput(0));
        SetTick(1 + 500);
        Assert.False(_pit.GetOutput(0));
        SetTick(1 + 999);
        _pit.OnTimer();
        Assert.Equal(0, _irq0.RisingEdges);
        Assert.False(_irq0.Level);

        SetTick(1 + 1000);
        _pit.OnTimer();
        Assert.Equal(1, _irq0.RisingEdges);
        Assert.True(_irq0.Level);
        Assert.Equal(AtTick(1 + 2000), _pit.NextEventNanoseconds);
    }

    [Fact]
    public void Mode3OddCountIsHighOneClockLonger()
    {
        Program(Counter0, 0x36, 5);

        SetTick(1 + 2);
        Assert.True(_pit.GetOutput(0));
        SetTick(1 + 3);
        Assert.False(_pit.GetOutput(0));
        SetTick(1 + 5);
        Assert.True(_pit.GetOutput(0));
    }

    [Fact]
    public void LateTimerCoalescesMissedEdges()
    {
        const int period = 1000;
        Program(Counter0, 0x34, period);

        SetTick(1 + 10 * period + 5);
        _pit.OnTimer();

        Assert.Equal(1, _irq0.RisingEdges);
        Assert.Equal(9, _pit.CoalescedEdges);
        Assert.Equal(AtTick(1 + 11 * period), _pit.NextEventNanoseconds);
        Assert.Equal(TimeSpan.FromTicks((AtTick(1 + 11 * period) - _clock.Nanoseconds + 99) / 100), _pit.NextEventDelay);
    }

    [Fact]
    public void Mode0OutGoesHighOnceAfterNPlusOneClocks()
    {
        Program(Counter0, 0x30, 100); // mode 0
        Assert.Equal([false], _irq0.History);
        SetTick(100);
        _pit.OnTimer();
        Assert.False(_irq0.Level);
        Assert.Equal(AtTick(101), _pit.NextEventNanoseconds);

        SetTick(101);
        _pit.OnTimer();
        Assert.True(_irq0.Level);
        Assert.Equal(1, _irq0.RisingEdges);
        Assert.Null(_pit.NextEventNanoseconds);
        Assert.Null(_pit.NextEventDelay);

        SetTick(500_000);
        _pit.OnTimer();
        Assert.Equal(1, _irq0.RisingEdges);
    }

    [Fact]
    public void Mode0CountsDownAndWraps()
    {
        Program(Counter0, 0x30, 100);

        SetTick(1 + 40);
        Assert.Equal(60, ReadCount(Counter0));
        SetTick(1 + 101);
        Assert.Equal(0xFFFF, ReadCount(Counter0));
    }

    [Fact]
    public void Mode4StrobesOnceAsLinuxOneShotExpects()
    {
        Program(Counter0, 0x38, 50); // what Linux writes for a one-shot clockevent
        SetTick(1 + 50);
        _pit.OnTimer();
        Assert.Equal(0, _irq0.RisingEdges);

        Assert.Equal(AtTick(1 + 50 + 1), _pit.NextEventNanoseconds);
        SetTick(1 + 50 + 1);
        _pit.OnTimer();

        Assert.Equal(1, _irq0.RisingEdges);
        Assert.True(_irq0.Level);
        Assert.Null(_pit.NextEventNanoseconds);
    }

    [Fact]
    public void CountOfZeroMeans65536()
    {
        Program(Counter0, 0x34, 0);

        Assert.Equal(AtTick(1 + 65_536), _pit.NextEventNanoseconds);
        SetTick(1);
        Assert.Equal(0, ReadCount(Counter0));
        SetTick(2);
        Assert.Equal(0xFFFF, ReadCount(Counter0));
    }

    [Fact]
    public void Mode2CountFollowsElapsedTime()
    {
        Program(Counter0, 0x34, 1000);

        SetTick(1 + 250);
        Assert.Equal(750, ReadCount(Counter0));
        SetTick(1 + 2 * 1000 + 10);
        Assert.Equal(990, ReadCount(Counter0));
    }

    [Fact]
    public void LatchFreezesTheCountUntilBothBytesAreRead()
    {
        Program(Counter0, 0x34, 1000);
        SetTick(1 + 100);

        Out(_pit, Control, 0x00); // latch counter 0
        SetTick(1 + 300);
        Out(_pit, Control, 0x00); // ignored: the first latch is unread
        int lsb = In(_pit, Counter0);
        SetTick(1 + 400);
        int msb = In(_pit, Counter0);

        Assert.Equal(900, lsb | (msb << 8));
        Assert.Equal(600, ReadCount(Counter0));
    }

    [Fact]
    public void ReadBackLatchesStatusThenCount()
    {
        Out(_pit, Control, 0x34);
        Out(_pit, Control, 0xE2); // read-back status of counter 0
        Assert.Equal(0x80 | 0x40 | 0x34, In(_pit, Counter0)); // OUT high, null count, mode bits

        Out(_pit, Counter0, 0xE8);
        Out(_pit, Counter0, 0x03); // 1000
        SetTick(1 + 10);
        Out(_pit, Control, 0xC2); // read-back count and status of counter 0
        SetTick(1 + 500);

        Assert.Equal(0x80 | 0x34, In(_pit, Counter0));
        Assert.Equal(990, ReadCount(Counter0));
    }

    [Fact]
    public void LsbOnlyAndMsbOnlyAccess()
    {
        Out(_pit, Control, 0x14); // counter 0, LSB only, mode 2
        Out(_pit, Counter0, 0x40);
        Assert.Equal(AtTick(1 + 0x40), _pit.NextEventNanoseconds);
        SetTick(1 + 0x10);
        Assert.Equal(0x30, In(_pit, Counter0));
        Assert.Equal(0x30, In(_pit, Counter0));

        Out(_pit, Control, 0x24); // counter 0, MSB only, mode 2
        Out(_pit, Counter0, 0x02);
        Assert.Equal(AtTick(1 + 0x10 + 1 + 0x200), _pit.NextEventNanoseconds);
        SetTick(1 + 0x10 + 1 + 0x100);
        Assert.Equal(0x01, In(_pit, Counter0));
    }

    [Fact]
    public void NewCountInMode2TakesEffectAtTheEndOfThePeriod()
    {
        Program(Counter0, 0x34, 1000);
        SetTick(1 + 300);

        Out(_pit, Counter0, 0xF4);
        Out(_pit, Counter0, 0x01); // 500

        Assert.Equal(AtTick(1 + 1000), _pit.NextEventNanoseconds);
        SetTick(1 + 1000);
        _pit.OnTimer();
        Assert.Equal(AtTick(1 + 1500), _pit.NextEventNanoseconds);
        SetTick(1 + 1100);
        Assert.Equal(400, ReadCount(Counter0));
    }

    [Fact]
    public void BcdCountsInDecimal()
    {
        Program(Counter0, 0x35, 0x0100); // mode 2, BCD 100

        Assert.Equal(AtTick(1 + 100), _pit.NextEventNanoseconds);
        SetTick(1 + 1);
        Assert.Equal(0x0099, ReadCount(Counter0));
    }

    [Fact]
    public void Counter2OutIsVisibleOnPort61AndGatedByBit0()
    {
        // Linux's pit_calibrate_tsc: gate on, speaker off, counter 2 mode 0, poll bit 5.
        var port61 = new PcSpeakerGate(_pit);
        Out(port61, 0, 0x00);
        Program(Counter2, 0xB0, 1000);
        SetTick(5000);
        Assert.Equal(0, In(port61, 0) & 0x20); // gate low: not counting

        Out(port61, 0, 0x01);
        SetTick(5000 + 999);
        Assert.Equal(0x01, In(port61, 0) & 0x23);
        SetTick(5000 + 1001);

        Assert.Equal(0x21, In(port61, 0) & 0x23);
        Assert.Equal(0, _irq0.RisingEdges);
    }

    [Fact]
    public void Port61KeepsWritableBitsAndTogglesRefresh()
    {
        var port61 = new PcSpeakerGate(_pit);

        Out(port61, 0, 0xFE);
        Assert.Equal(0x0E, In(port61, 0) & 0xCF);
        Assert.True(port61.SpeakerEnabled);
        Assert.False(_pit.GetGate(2));

        _clock.Nanoseconds = 15_085 * 1_000;
        int first = In(port61, 0) & 0x10;
        _clock.Nanoseconds += 15_085;
        Assert.NotEqual(first, In(port61, 0) & 0x10);
    }

    [Fact]
    public void GateLowInMode2HoldsOutHighAndRestartsOnRise()
    {
        var port61 = new PcSpeakerGate(_pit);
        Out(port61, 0, 0x01);
        Program(Counter2, 0xB4, 100); // counter 2, mode 2
        SetTick(1 + 99);
        Assert.False(_pit.GetOutput(2));

        Out(port61, 0, 0x00);
        Assert.True(_pit.GetOutput(2));
        SetTick(1000);
        Out(port61, 0, 0x01);
        SetTick(1000 + 1 + 50);

        Assert.Equal(50, ReadCount(Counter2));
    }

    [Fact]
    public void Mode1IsAOneShotTriggeredByTheGate()
    {
        var port61 = new PcSpeakerGate(_pit);
        Program(Counter2, 0xB2, 100); // counter 2, mode 1
        SetTick(500);
        Assert.True(_pit.GetOutput(2)); // waiting for a trigger

        Out(port61, 0, 0x01); // gate rises at tick 500: OUT low from the next clock for 100 clocks
        SetTick(501);
        Assert.False(_pit.GetOutput(2));
        SetTick(501 + 99);
        Assert.False(_pit.GetOutput(2));
        SetTick(501 + 100);
        Assert.True(_pit.GetOutput(2));

        Out(port61, 0, 0x00);
        Out(port61, 0, 0x01); // retrigger
        SetTick(501 + 101);
        Assert.False(_pit.GetOutput(2));
    }

    [Fact]
    public void ControlPortReadsAndWrongWidthsAreDropped()
    {
        Program(Counter0, 0x34, 1000);

        Assert.Equal(0, In(_pit, Control));
        _pit.Write(Counter0, [0x00, 0x00]);
        _pit.Write(4, [0x00]);

        Assert.Equal(AtTick(1 + 1000), _pit.NextEventNanoseconds);
        Assert.Equal(3, _pit.DroppedAccesses);
    }

    [Fact]
    public void StateRoundTripResumesThePhase()
    {
        Program(Counter0, 0x34, 1000);
        SetTick(1 + 2300);
        _pit.OnTimer();
        var state = _pit.GetState();

        var clock = new ManualClock(42);
        var irq0 = new RecordingInterruptLine();
        var restored = Pit8254.FromState(state, irq0, clock.Read);

        Assert.Equal(700, ReadCountOf(restored));
        restored.OnTimer();
        Assert.Equal(0, irq0.RisingEdges);
        long? next = restored.NextEventNanoseconds;
        Assert.NotNull(next);
        Assert.InRange(next.Value - 42, 700L * 1_000_000_000 / Pit8254.FrequencyHz - 1, 700L * 1_000_000_000 / Pit8254.FrequencyHz + 2);
    }

    private static int ReadCountOf(Pit8254 pit)
    {
        int lsb = In(pit, Counter0);
        return lsb | (In(pit, Counter0) << 8);
    }
}
