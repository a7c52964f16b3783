namespace Ember.Devices.Tests.Timers;

/// <summary>A nanosecond clock that moves only when the test says so.</summary>
public sealed class ManualClock(long startNanoseconds)
{
    public long Nanoseconds { get; set; } = startNanoseconds;

    public long Read() => Nanoseconds;

    public void Advance(long nanoseconds) => Nanoseconds += nanoseconds;
}
