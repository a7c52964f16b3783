namespace Ember.Devices.Virtio.Queues;

/// <summary>One entry of the used ring (virtio 1.2 §2.7.8): the chain's head index and the bytes the device wrote into it.</summary>
public readonly record struct UsedElement(ushort HeadIndex, uint Length);
