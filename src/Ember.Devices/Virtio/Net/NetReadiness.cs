namespace Ember.Devices.Virtio.Net;

/// <summary>What a network backend can do without blocking: hand over a frame, take one, or both.</summary>
[Flags]
public enum NetReadiness
{
    None = 0,

    /// <summary>A frame is waiting to be received.</summary>
    Readable = 1,

    /// <summary>A frame can be sent.</summary>
    Writable = 2,
}
