namespace Ember.Vmm.Tests.Fakes;

/// <summary>A monotonic clock that moves only when the test says; timestamps are nanoseconds.</summary>
public sealed class ManualClock : TimeProvider
{
    private long _timestamp;

    public override long TimestampFrequency => 1_000_000_000;

    public override long GetTimestamp() => Interlocked.Read(ref _timestamp);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _timestamp, by.Ticks * 100);
}
