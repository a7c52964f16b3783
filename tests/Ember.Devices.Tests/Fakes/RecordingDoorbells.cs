using Ember.Devices.Virtio;

namespace Ember.Devices.Tests.Fakes;

/// <summary>Doorbells that remember where they were attached and can be rung by the test.</summary>
public sealed class RecordingDoorbells : IQueueDoorbells
{
    public Dictionary<ulong, Action> Live { get; } = [];

    /// <summary>The queue index each live doorbell was attached for, by address.</summary>
    public Dictionary<ulong, ushort> QueueIndexes { get; } = [];

    /// <summary>Runs inside each Attach and Dispose, as a real event loop's dispatch would hold its lock there.</summary>
    public Action? DuringRegistration { get; set; }

    public IDisposable? Attach(ulong address, ushort queueIndex, Action rung)
    {
        DuringRegistration?.Invoke();
        Live.Add(address, rung);
        QueueIndexes.Add(address, queueIndex);
        return new Registration(() =>
        {
            DuringRegistration?.Invoke();
            Live.Remove(address);
            QueueIndexes.Remove(address);
        });
    }

    private sealed class Registration(Action remove) : IDisposable
    {
        public void Dispose() => remove();
    }
}
