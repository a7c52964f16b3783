using Ember.Devices.Virtio;

namespace Ember.Bench.Block;

/// <summary>The harness polls the used ring instead of waiting for interrupts, so they are only counted.</summary>
public sealed class NullVirtioInterrupt : IVirtioInterrupt
{
    public long QueueSignals { get; private set; }

    public void SignalQueue(int queue) => QueueSignals++;

    public void SignalConfigurationChange()
    {
    }
}
