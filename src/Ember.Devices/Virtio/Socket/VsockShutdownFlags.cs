namespace Ember.Devices.Virtio.Socket;

/// <summary>The <c>flags</c> of a Shutdown packet (virtio 1.2 §5.10.6.5): which directions the sender stops.</summary>
[Flags]
public enum VsockShutdownFlags : uint
{
    None = 0,

    /// <summary>The sender will receive no more data.</summary>
    Receive = 1,

    /// <summary>The sender will send no more data.</summary>
    Send = 2,
}
