using Ember.Devices.Virtio;

namespace Ember.Devices.Tests.Fakes;

/// <summary>A virtio device that records what its transport asked of it.</summary>
public sealed class RecordingVirtioDevice(int queues = 2, ulong offered = 1UL << 0 | 1UL << 5, int configurationLength = 8) : IVirtioDevice
{
    private readonly byte[] _configuration = [.. Enumerable.Range(0x10, configurationLength).Select(i => (byte)i)];

    public VirtioDeviceType Type => VirtioDeviceType.Entropy;
    public ulong OfferedFeatures => offered;
    public int QueueCount => queues;
    public ushort MaxQueueSize => 256;
    public int ConfigurationLength => configurationLength;
    public List<VirtioActivation> Activations { get; } = [];
    public List<int> Notifications { get; } = [];
    public int Resets { get; private set; }
    public bool NeedsReset { get; set; }

    public void ReadConfiguration(int offset, Span<byte> data) => _configuration.AsSpan(offset, data.Length).CopyTo(data);

    public void WriteConfiguration(int offset, ReadOnlySpan<byte> data) => data.CopyTo(_configuration.AsSpan(offset));

    public void Activate(VirtioActivation activation) => Activations.Add(activation);

    public void Notify(int queue)
    {
        lock (Notifications)
            Notifications.Add(queue);
    }

    public void Reset() => Resets++;
}
