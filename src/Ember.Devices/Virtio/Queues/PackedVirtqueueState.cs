namespace Ember.Devices.Virtio.Queues;

/// <summary>
/// Everything a <see cref="PackedVirtqueue"/> keeps outside guest memory: both wrap counters and positions, how many
/// descriptors each outstanding buffer id took, and where the last interrupt decision stood. The ring lives in guest
/// RAM and travels with it.
/// </summary>
public sealed record PackedVirtqueueState(
    VirtqueueLayout Layout,
    ulong Features,
    ushort MaxSize,
    ushort NextAvailPosition,
    bool AvailWrapCounter,
    ushort NextUsedPosition,
    bool UsedWrapCounter,
    IReadOnlyList<ushort> DescriptorsById,
    ushort DecisionPosition,
    bool DecisionWrapCounter,
    uint UsedSinceDecision);
