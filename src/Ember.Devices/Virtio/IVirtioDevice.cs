namespace Ember.Devices.Virtio;

/// <summary>
/// A virtio device as its transport drives it: what it offers, its configuration structure, and its queues.
/// It knows nothing of PCI or KVM. The transport negotiates features, collects queue layouts and calls
/// <see cref="Activate"/> on DRIVER_OK; from then on <see cref="Notify"/> says the driver made buffers
/// available on a queue, from whichever thread saw the notification (a vCPU, or the ioeventfd's I/O thread).
/// Threat model: everything the driver wrote (features, layouts, configuration writes, ring contents) is
/// hostile. A device never throws out of these methods on guest input; a broken queue stops the device and
/// it reports that through <see cref="NeedsReset"/>.
/// </summary>
public interface IVirtioDevice
{
    VirtioDeviceType Type { get; }

    /// <summary>Every feature bit the device can do, including device-independent ones it supports.</summary>
    ulong OfferedFeatures { get; }

    int QueueCount { get; }

    /// <summary>The largest size the driver may choose for a queue (a power of two, at most 32768).</summary>
    ushort MaxQueueSize { get; }

    /// <summary>The length of the device-specific configuration structure in bytes.</summary>
    int ConfigurationLength { get; }

    /// <summary>Reads the configuration structure; offsets and lengths are already inside ConfigurationLength.</summary>
    void ReadConfiguration(int offset, Span<byte> data);

    void WriteConfiguration(int offset, ReadOnlySpan<byte> data);

    /// <summary>The driver set DRIVER_OK with these features and queues.</summary>
    void Activate(VirtioActivation activation);

    /// <summary>The driver made buffers available on <paramref name="queue"/>; out-of-range queues are ignored.</summary>
    void Notify(int queue);

    /// <summary>True once the device met a driver error it cannot go on from (virtio 1.2 §2.1.2 DEVICE_NEEDS_RESET).</summary>
    bool NeedsReset { get; }

    /// <summary>The driver wrote 0 to device_status: stop using the queues and forget the activation.</summary>
    void Reset();
}
