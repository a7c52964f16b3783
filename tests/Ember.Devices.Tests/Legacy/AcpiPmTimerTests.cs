using Ember.Devices.Legacy;
using Ember.Devices.Tests.Fakes;
using Xunit;

namespace Ember.Devices.Tests.Legacy;

public sealed class AcpiPmTimerTests
{
    private readonly ManualTimeProvider _clock = new();
    private readonly AcpiPmTimer _timer;

    public AcpiPmTimerTests() => _timer = new AcpiPmTimer(_clock);

    [Fact]
    public void CountsAt3579545HzFromZero()
    {
        Assert.Equal(0u, _timer.ReadUInt32(0));

        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(3_579_545u, _timer.ReadUInt32(0));

        _clock.AdvanceNanoseconds(1_000); // 1 µs = 3.58 ticks
        Assert.Equal(3_579_548u, _timer.ReadUInt32(0));
    }

    [Fact]
    public void CounterIs32BitsWideAndWraps()
    {
        // 2^32 ticks at 3.579545 MHz is about 1199.86 s; 1200 s is 497_820 ticks past the wrap.
        _clock.Advance(TimeSpan.FromSeconds(1200));

        uint expected = unchecked((uint)(1200UL * 3_579_545UL));
        Assert.Equal(expected, _timer.ReadUInt32(0));
        Assert.True(expected < 1_000_000u);
    }

    [Fact]
    public void DoesNotOverflowAfterDaysOfUptime()
    {
        _clock.Advance(TimeSpan.FromDays(30));

        ulong ticks = 30UL * 86_400 * 3_579_545;
        Assert.Equal(unchecked((uint)ticks), _timer.ReadUInt32(0));
    }

    [Fact]
    public void NarrowReadsReturnTheMatchingBytes()
    {
        _clock.Advance(TimeSpan.FromSeconds(1)); // 0x0036_9E99

        Assert.Equal(0x99, _timer.ReadByte(0));
        Assert.Equal(0x36, _timer.ReadByte(2));
        Assert.Equal(0x369E, _timer.ReadUInt16(1));
    }

    [Fact]
    public void WritesAndAccessesPastTheRegisterAreIgnoredAndCounted()
    {
        _clock.Advance(TimeSpan.FromSeconds(1));
        _timer.WriteUInt32(0, 0);

        Assert.Equal(3_579_545u, _timer.ReadUInt32(0));
        Assert.Equal(0UL, _timer.ReadUInt64(0));
        Assert.Equal(0u, _timer.ReadUInt32(2));
        Assert.Equal(3, _timer.UnhandledAccesses);
    }

    [Fact]
    public void RestoredTimerContinuesFromTheSnapshot()
    {
        _clock.Advance(TimeSpan.FromSeconds(2));
        var state = _timer.GetState();
        var laterClock = new ManualTimeProvider();
        laterClock.Advance(TimeSpan.FromHours(5));

        var restored = AcpiPmTimer.FromState(state, laterClock);
        laterClock.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(3u * 3_579_545u, restored.Counter);
    }
}
