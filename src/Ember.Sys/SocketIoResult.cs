namespace Ember.Sys;

/// <summary>The outcome of one non-blocking read or write: a status and, when bytes moved, how many.</summary>
public readonly record struct SocketIoResult(SocketIoStatus Status, int Count)
{
    public static SocketIoResult WouldBlock => new(SocketIoStatus.WouldBlock, 0);

    public static SocketIoResult Closed => new(SocketIoStatus.Closed, 0);

    public static SocketIoResult Transferred(int count) => new(SocketIoStatus.Transferred, count);
}
