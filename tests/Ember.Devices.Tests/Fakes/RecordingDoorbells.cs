using Ember.Devices.Virtio;

namespace Ember.Devices.Tests.Fakes;

/// <summary>Doorbells that remember where they were attached and can be rung by the test.</summary>
public sealed class RecordingDoorbells : IQueueDoorbells
{
    public Dictionary<ulong, Action> Live { get; } = [];

    public IDisposable? Attach(ulong address, Action rung)
    {
        Live.Add(address, rung);
        return new Registration(() => Live.Remove(address));
    }

    private sealed class Registration(Action remove) : IDisposable
    {
        public void Dispose() => remove();
    }
}
