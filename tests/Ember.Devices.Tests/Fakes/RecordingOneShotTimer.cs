using Ember.Sys;

namespace Ember.Devices.Tests.Fakes;

/// <summary>A timer that only remembers what it was asked: the test fires it by calling the device itself.</summary>
public sealed class RecordingOneShotTimer : IOneShotTimer
{
    public List<TimeSpan> Armed { get; } = [];

    public int Cancels { get; private set; }

    public void Arm(TimeSpan delay) => Armed.Add(delay);

    public void Cancel() => Cancels++;
}
