using System.Diagnostics.CodeAnalysis;
using Ember.Memory;

namespace Ember.Devices.Virtio.Queues;

/// <summary>
/// The device side of one virtqueue whatever its memory format: split (virtio 1.2 §2.7) or packed (§2.8). A device
/// pops chains, answers them and hands them back, and asks whether the driver wants to hear of it; which ring kind
/// the driver chose (VIRTIO_F_RING_PACKED) is the queue's business. Not thread-safe: the device serializes.
/// </summary>
public interface IVirtqueue
{
    /// <summary>The queue size the driver chose.</summary>
    ushort Size { get; }

    /// <summary>Why the queue stopped for good, or None.</summary>
    QueueFault Fault { get; }

    bool IsBroken { get; }

    /// <summary>
    /// Takes the next available chain. Returns false when none is available or the queue is (or just became)
    /// broken. A returned chain may be malformed (<see cref="DescriptorChain.IsMalformed"/>); it still counts
    /// as taken and must be given back with <see cref="AddUsed"/>.
    /// </summary>
    bool TryPop([NotNullWhen(true)] out DescriptorChain? chain);

    /// <summary>
    /// As <see cref="TryPop"/>, but fills <paramref name="chain"/> (the caller's, reused from request to request)
    /// instead of making a new one, so a device that is done with a chain before it takes the next allocates nothing.
    /// On false the chain's content is unspecified.
    /// </summary>
    bool TryPopInto(DescriptorChain chain);

    /// <summary>
    /// Returns a chain to the driver: <paramref name="headIndex"/> is the chain's <see cref="DescriptorChain.HeadIndex"/>,
    /// <paramref name="length"/> the bytes the device wrote into its writable part.
    /// </summary>
    void AddUsed(ushort headIndex, uint length);

    /// <summary>Returns several chains so that the driver sees all of them or none (at most <see cref="Size"/>).</summary>
    void AddUsedBatch(ReadOnlySpan<UsedElement> elements);

    /// <summary>
    /// Called when the device has run out of chains and is about to wait: re-arms the driver's notifications,
    /// then looks again. True means more is available: keep popping.
    /// </summary>
    bool EnableNotification();

    /// <summary>Whether the driver wants an interrupt for what was used since the last time this was asked.</summary>
    bool NeedsInterrupt();

    /// <summary>
    /// The queue for <paramref name="layout"/> in the format the negotiated <paramref name="features"/> say: packed
    /// under VIRTIO_F_RING_PACKED, split otherwise. A bad layout gives a queue broken from the start.
    /// </summary>
    static IVirtqueue Create(VirtqueueLayout layout, IGuestMemory memory, ulong features, ushort maxSize) =>
        (features & VirtioFeature.RingPacked) != 0
            ? new PackedVirtqueue(layout, memory, features, maxSize)
            : new SplitVirtqueue(layout, memory, features, maxSize);
}
