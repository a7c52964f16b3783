namespace Ember.Devices.Virtio;

/// <summary>Device-independent feature bits (virtio 1.2 §6), as masks of the 64-bit feature word.</summary>
public static class VirtioFeature
{
    public const ulong IndirectDescriptors = 1UL << 28;
    public const ulong EventIndex = 1UL << 29;
    public const ulong Version1 = 1UL << 32;
    public const ulong AccessPlatform = 1UL << 33;
    public const ulong RingPacked = 1UL << 34;
    public const ulong InOrder = 1UL << 35;
}
