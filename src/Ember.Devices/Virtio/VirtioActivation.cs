using Ember.Memory;

namespace Ember.Devices.Virtio;

/// <summary>
/// What a device gets when the driver sets DRIVER_OK: the features both sides agreed on, guest memory,
/// one layout per queue the driver enabled (null for a queue left disabled), and how to interrupt.
/// </summary>
public sealed record VirtioActivation(ulong Features, IGuestMemory Memory, IReadOnlyList<VirtqueueLayout?> Queues, IVirtioInterrupt Interrupt);
