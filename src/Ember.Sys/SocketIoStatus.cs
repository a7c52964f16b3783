namespace Ember.Sys;

/// <summary>How a non-blocking socket transfer ended.</summary>
public enum SocketIoStatus
{
    /// <summary>Some bytes moved (see <see cref="SocketIoResult.Count"/>).</summary>
    Transferred,

    /// <summary>Nothing could move now (EAGAIN): wait for the fd to be ready.</summary>
    WouldBlock,

    /// <summary>The peer is gone: end of stream on a read, or a write to a peer that closed (EPIPE, ECONNRESET).</summary>
    Closed,
}
