using Ember.Devices.Virtio;

namespace Ember.Devices.Tests.Fakes;

/// <summary>A virtio interrupt that counts queue and configuration-change signals.</summary>
public sealed class RecordingVirtioInterrupt : IVirtioInterrupt
{
    private readonly Lock _lock = new();
    private readonly List<int> _queueSignals = [];
    private int _configurationChanges;

    /// <summary>The queue of every SignalQueue call, in order.</summary>
    public IReadOnlyList<int> QueueSignals
    {
        get { lock (_lock) return _queueSignals.ToArray(); }
    }

    public int ConfigurationChanges
    {
        get { lock (_lock) return _configurationChanges; }
    }

    public void SignalQueue(int queue)
    {
        lock (_lock)
            _queueSignals.Add(queue);
    }

    public void SignalConfigurationChange()
    {
        lock (_lock)
            _configurationChanges++;
    }
}
