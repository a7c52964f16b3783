using Ember.Devices.Legacy;
using Ember.Devices.Tests.Fakes;
using Xunit;

namespace Ember.Devices.Tests.Legacy;

public sealed class CmosRtcTests
{
    private const ulong IndexPort = 0, DataPort = 1;
    private const byte Seconds = 0x00, Minutes = 0x02, Hours = 0x04, DayOfWeek = 0x06, Day = 0x07, Month = 0x08,
        Year = 0x09, RegA = 0x0A, RegB = 0x0B, RegC = 0x0C, RegD = 0x0D, Century = 0x32;
    private const byte BinaryMode = 0x04, TwentyFourHour = 0x02, Set = 0x80;

    // Friday 15 March 2024, 13:45:30 UTC.
    private static readonly DateTimeOffset Start = new(2024, 3, 15, 13, 45, 30, TimeSpan.Zero);

    private readonly ManualTimeProvider _clock = new(Start);
    private readonly CmosRtc _rtc;

    public CmosRtcTests() => _rtc = new CmosRtc(_clock);

    private byte Get(byte index)
    {
        _rtc.WriteByte(IndexPort, index);
        return _rtc.ReadByte(DataPort);
    }

    private void Put(byte index, byte value)
    {
        _rtc.WriteByte(IndexPort, index);
        _rtc.WriteByte(DataPort, value);
    }

    [Fact]
    public void TimeReadsInBcd24HourByDefault()
    {
        Assert.Equal(0x30, Get(Seconds));
        Assert.Equal(0x45, Get(Minutes));
        Assert.Equal(0x13, Get(Hours));
        Assert.Equal(0x06, Get(DayOfWeek)); // Sunday = 1
        Assert.Equal(0x15, Get(Day));
        Assert.Equal(0x03, Get(Month));
        Assert.Equal(0x24, Get(Year));
        Assert.Equal(0x20, Get(Century));
    }

    [Fact]
    public void BinaryModeReadsPlainNumbers()
    {
        Put(RegB, BinaryMode | TwentyFourHour);

        Assert.Equal(30, Get(Seconds));
        Assert.Equal(45, Get(Minutes));
        Assert.Equal(13, Get(Hours));
        Assert.Equal(24, Get(Year));
        Assert.Equal(20, Get(Century));
    }

    [Theory]
    [InlineData(13, 0x81)] // 1 PM
    [InlineData(0, 0x12)]  // midnight = 12 AM
    [InlineData(12, 0x92)] // noon = 12 PM
    [InlineData(11, 0x11)]
    public void TwelveHourModeMarksPmInBit7(int hour, byte expected)
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2024, 3, 15, hour, 0, 0, TimeSpan.Zero));
        var rtc = new CmosRtc(clock);
        rtc.WriteByte(IndexPort, RegB);
        rtc.WriteByte(DataPort, 0x00); // BCD, 12-hour

        rtc.WriteByte(IndexPort, Hours);
        Assert.Equal(expected, rtc.ReadByte(DataPort));
    }

    [Fact]
    public void TimeFollowsTheClock()
    {
        _clock.Advance(TimeSpan.FromSeconds(45));

        Assert.Equal(0x15, Get(Seconds));
        Assert.Equal(0x46, Get(Minutes));
    }

    [Fact]
    public void NmiDisableBitIsIgnoredForIndexing()
    {
        _rtc.WriteByte(IndexPort, 0x80 | Minutes);

        Assert.Equal(0x45, _rtc.ReadByte(DataPort));
    }

    [Fact]
    public void StatusRegistersReportValidTimeAndNoFlags()
    {
        Assert.Equal(0x26, Get(RegA));
        Assert.Equal(TwentyFourHour, Get(RegB));
        Assert.Equal(0x00, Get(RegC));
        Assert.Equal(0x80, Get(RegD));
    }

    [Fact]
    public void UpdateInProgressIsSetOnlyInTheLast244MicrosecondsOfASecond()
    {
        _clock.Advance(TimeSpan.FromTicks(TimeSpan.TicksPerSecond - 2_450)); // 245 µs before the update
        Assert.Equal(0, Get(RegA) & 0x80);

        _clock.Advance(TimeSpan.FromTicks(20)); // 243 µs before
        Assert.Equal(0x80, Get(RegA) & 0x80);

        _clock.Advance(TimeSpan.FromTicks(2_430)); // update done
        Assert.Equal(0, Get(RegA) & 0x80);
        Assert.Equal(0x31, Get(Seconds));
    }

    [Fact]
    public void RegisterAKeepsWritableBitsButNotUip()
    {
        Put(RegA, 0xAF);

        Assert.Equal(0x2F, Get(RegA) & 0x7F);
    }

    [Fact]
    public void StatusRegistersCAndDIgnoreWrites()
    {
        Put(RegC, 0xF0);
        Put(RegD, 0x00);

        Assert.Equal(0x00, Get(RegC));
        Assert.Equal(0x80, Get(RegD));
    }

    [Theory]
    [InlineData(0x0E)]
    [InlineData(0x40)]
    [InlineData(0x7F)]
    public void NvramBytesReadBack(byte index)
    {
        Put(index, 0xA5);

        Assert.Equal(0xA5, Get(index));
    }

    [Fact]
    public void AlarmBytesArePlainRam()
    {
        Put(0x01, 0x59);

        Assert.Equal(0x59, Get(0x01));
    }

    [Fact]
    public void IndexAbove127WrapsIntoTheSame128Bytes()
    {
        Put(0x7F, 0x3C);

        Assert.Equal(0x3C, Get(0xFF));
    }

    [Fact]
    public void MemorySizeBytesAreIn64KiBUnits()
    {
        _rtc.SetMemorySize(2UL << 30, 4UL << 30);

        // (2 GiB - 16 MiB) / 64 KiB = 0x7F00; 4 GiB / 64 KiB = 0x010000.
        Assert.Equal(0x00, Get(0x34));
        Assert.Equal(0x7F, Get(0x35));
        Assert.Equal(0x00, Get(0x5B));
        Assert.Equal(0x00, Get(0x5C));
        Assert.Equal(0x01, Get(0x5D));
    }

    [Fact]
    public void MemorySizeSaturatesAndSmallRamHasNothingAbove16MiB()
    {
        _rtc.SetMemorySize(8UL << 20, ulong.MaxValue);

        Assert.Equal(0, Get(0x34) | Get(0x35));
        Assert.Equal(0xFF, Get(0x5B) & Get(0x5C) & Get(0x5D));

        _rtc.SetMemorySize(5UL << 30, 0);
        Assert.Equal(0xFF, Get(0x34) & Get(0x35));
    }

    [Fact]
    public void WritingATimeFieldMovesTheClockWhichKeepsRunning()
    {
        Put(Hours, 0x08);

        Assert.Equal(new DateTime(2024, 3, 15, 8, 45, 30, DateTimeKind.Utc), _rtc.GuestTime);
        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0x09, Get(Hours));
    }

    [Fact]
    public void TwelveHourWritesAreDecoded()
    {
        Put(RegB, 0x00);
        Put(Hours, 0x80 | 0x12); // 12 PM

        Assert.Equal(12, _rtc.GuestTime.Hour);
    }

    [Fact]
    public void SetFreezesTheClockAndAppliesFieldsOnRelease()
    {
        Put(RegB, Set | TwentyFourHour);
        _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(0x30, Get(Seconds));
        Assert.Equal(0, Get(RegA) & 0x80);

        // Field by field, passing through the impossible 31 February.
        Put(Day, 0x31);
        Put(Month, 0x02);
        Put(Day, 0x28);
        Put(Year, 0x25);
        Put(Seconds, 0x00);
        Put(RegB, TwentyFourHour);

        Assert.Equal(new DateTime(2025, 2, 28, 13, 45, 0, DateTimeKind.Utc), _rtc.GuestTime);
        Assert.Equal(0, _rtc.RejectedTimeWrites);
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(0x02, Get(Seconds));
    }

    [Fact]
    public void ImpossibleDateOnSetReleaseKeepsTheOldClock()
    {
        var before = _rtc.GuestTime;
        Put(RegB, Set | TwentyFourHour);
        Put(Month, 0x02);
        Put(Day, 0x31);
        Put(RegB, TwentyFourHour);

        Assert.Equal(before, _rtc.GuestTime);
        Assert.Equal(1, _rtc.RejectedTimeWrites);
    }

    [Theory]
    [InlineData(Seconds, 0x5A)] // not BCD
    [InlineData(Seconds, 0x60)] // 60 seconds
    [InlineData(Hours, 0x24)]
    [InlineData(Month, 0x13)]
    [InlineData(Day, 0x00)]
    public void UndecodableTimeWritesAreDroppedAndCounted(byte index, byte value)
    {
        var before = _rtc.GuestTime;

        Put(index, value);

        Assert.Equal(before, _rtc.GuestTime);
        Assert.Equal(1, _rtc.RejectedTimeWrites);
    }

    [Fact]
    public void ClockAtTheEndOfTimeSaturatesInsteadOfThrowing()
    {
        Put(RegB, Set | TwentyFourHour);
        Put(Century, 0x99);
        Put(Year, 0x99);
        Put(Month, 0x12);
        Put(Day, 0x31);
        Put(Hours, 0x23);
        Put(Minutes, 0x59);
        Put(Seconds, 0x59);
        Put(RegB, TwentyFourHour);

        _clock.Advance(TimeSpan.FromDays(2));

        Assert.Equal(0x99, Get(Year));
        Assert.Equal(0x59, Get(Seconds));
    }

    [Fact]
    public void IndexPortReadsFloatingBusAndOddAccessesAreCounted()
    {
        Assert.Equal(0xFF, _rtc.ReadByte(IndexPort));

        _rtc.Read(DataPort, new byte[2]);
        _rtc.Write(2, [0x00]);

        Assert.Equal(2, _rtc.UnhandledAccesses);
    }

    [Fact]
    public void StateRoundTripKeepsNvramClockOffsetAndIndex()
    {
        Put(Hours, 0x01);
        Put(0x50, 0x77);
        _rtc.WriteByte(IndexPort, Minutes);

        var restored = CmosRtc.FromState(_rtc.GetState(), _clock);

        Assert.Equal(0x45, restored.ReadByte(DataPort)); // index survived
        Assert.Equal(_rtc.GuestTime, restored.GuestTime);
        restored.WriteByte(IndexPort, 0x50);
        Assert.Equal(0x77, restored.ReadByte(DataPort));
    }

    [Fact]
    public void FromStateRejectsWrongSize()
    {
        var state = _rtc.GetState() with { Registers = new byte[64] };

        Assert.Throws<ArgumentException>(() => CmosRtc.FromState(state, _clock));
    }
}
