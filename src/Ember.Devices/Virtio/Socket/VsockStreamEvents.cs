namespace Ember.Devices.Virtio.Socket;

/// <summary>What a host stream of a vsock connection is ready for, or what the device asks to be told about.</summary>
[Flags]
public enum VsockStreamEvents
{
    None = 0,

    /// <summary>Bytes (or the end of the stream) are there to read.</summary>
    Readable = 1,

    /// <summary>A write would take bytes now.</summary>
    Writable = 2,

    /// <summary>The host end is gone both ways (or failed); reported whether asked for or not. Bytes it sent may still be readable.</summary>
    HangUp = 4,
}
