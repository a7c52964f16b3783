namespace Ember.Devices.Virtio.Queues;

/// <summary>
/// Everything a <see cref="SplitVirtqueue"/> keeps outside guest memory: enough to carry on after a snapshot.
/// The rings themselves live in guest RAM and travel with it.
/// </summary>
public sealed record SplitVirtqueueState(
    VirtqueueLayout Layout,
    ulong Features,
    ushort MaxSize,
    ushort NextAvailIndex,
    ushort UsedIndex,
    ushort UsedAtLastInterruptDecision);
