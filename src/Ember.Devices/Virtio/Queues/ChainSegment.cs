using Ember.Memory;

namespace Ember.Devices.Virtio.Queues;

/// <summary>One buffer of a descriptor chain, already checked to lie wholly inside guest RAM.</summary>
public readonly record struct ChainSegment(GuestAddress Address, uint Length, bool IsDeviceWritable);
