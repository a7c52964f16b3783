namespace Ember.Devices.Tests.Fakes;

/// <summary>A clock that moves only when the test calls <see cref="Advance"/>; timestamps are nanoseconds.</summary>
public sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    public const long NanosecondsPerSecond = 1_000_000_000;

    private readonly Lock _lock = new();
    private DateTimeOffset _utcNow = start;
    private long _timestamp;

    public ManualTimeProvider() : this(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
    }

    public override long TimestampFrequency => NanosecondsPerSecond;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock) return _utcNow;
    }

    public override long GetTimestamp()
    {
        lock (_lock) return _timestamp;
    }

    public void Advance(TimeSpan by)
    {
        lock (_lock)
        {
            _utcNow += by;
            _timestamp += by.Ticks * (NanosecondsPerSecond / TimeSpan.TicksPerSecond);
        }
    }

    public void AdvanceNanoseconds(long nanoseconds)
    {
        lock (_lock)
        {
            _utcNow += TimeSpan.FromTicks(nanoseconds / (NanosecondsPerSecond / TimeSpan.TicksPerSecond));
            _timestamp += nanoseconds;
        }
    }
}
