using Ember.Memory;

namespace Ember.Devices.Virtio.Queues;

/// <summary>One struct pvirtq_desc as copied out of the ring (virtio 1.2 §2.8.13), before any check.</summary>
internal readonly record struct PackedDescriptor(GuestAddress Address, uint Length, ushort Id, ushort Flags);
