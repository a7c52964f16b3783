namespace Ember.Devices.Virtio.Net;

/// <summary>What became of a frame the device gave the backend.</summary>
public enum NetSendResult
{
    /// <summary>The backend took the frame.</summary>
    Sent,

    /// <summary>Not now (the TAP's queue is full, or a rate limiter is out of tokens): offer the same frame again when the backend reports Writable.</summary>
    WouldBlock,

    /// <summary>The backend will never take this frame (the host kernel refused its header, the link is down): it is dropped.</summary>
    Refused,
}
