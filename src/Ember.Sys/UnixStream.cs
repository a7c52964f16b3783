using System.Runtime.InteropServices;
using Ember.Sys.Interop;

namespace Ember.Sys;

/// <summary>
/// One connected Unix stream socket, non-blocking: reads and writes report would-block and a departed peer as
/// statuses, not exceptions, because both are ordinary events for a vsock connection. Subscribe <see cref="Handle"/>
/// to an <see cref="EventLoop"/> (In: readable or closed; Out: writable). Writes never raise SIGPIPE.
/// </summary>
public sealed unsafe class UnixStream : IDisposable
{
    internal UnixStream(FileDescriptorHandle handle) => Handle = handle;

    public FileDescriptorHandle Handle { get; }

    /// <summary>Connects to the socket at <paramref name="path"/>; throws <see cref="SystemCallException"/> with the path when nobody listens there.</summary>
    public static UnixStream Connect(string path)
    {
        if (TryConnect(path, out var stream, out var errno))
            return stream!;
        throw new SystemCallException("connect", errno, errno switch
        {
            Errno.ENOENT => $"cannot connect to {path}: no such socket",
            Errno.ECONNREFUSED => $"cannot connect to {path}: nobody is listening on it",
            Errno.EAGAIN => $"cannot connect to {path}: its listener's backlog is full",
            Errno.EACCES => $"cannot connect to {path}: permission denied",
            _ => $"cannot connect to {path}: {errno} ({Marshal.GetPInvokeErrorMessage((int)errno)})",
        });
    }

    /// <summary>
    /// Connects to the socket at <paramref name="path"/> without blocking; false with the errno (ENOENT: no socket,
    /// ECONNREFUSED: nobody listens, EAGAIN: the backlog is full) when it cannot, so a guest's connection request to
    /// a port nobody serves costs no exception. Unix stream connects complete at once or not at all.
    /// </summary>
    public static bool TryConnect(string path, out UnixStream? stream, out Errno error)
    {
        uint length = UnixSocketPath.Fill(path, out var address);
        var handle = FileDescriptorHandle.FromResult(
            Libc.Socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, 0), "socket");
        while (true)
        {
            // Safe because address is a local sockaddr_un and length is within it.
            if (Libc.Connect(handle.Fd, &address, length) == 0)
            {
                stream = new UnixStream(handle);
                error = default;
                return true;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno == (int)Errno.EINTR)
                continue;
            handle.Dispose();
            stream = null;
            error = (Errno)errno;
            return false;
        }
    }

    /// <summary>Reads what is there, up to <paramref name="buffer"/>'s length.</summary>
    public SocketIoResult Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
            return SocketIoResult.Transferred(0);
        bool added = false;
        Handle.DangerousAddRef(ref added);
        try
        {
            while (true)
            {
                nint read;
                // Safe because the kernel writes at most buffer.Length bytes into the pinned span.
                fixed (byte* pointer = buffer)
                    read = Libc.Recv(Handle.Fd, pointer, (nuint)buffer.Length, 0);
                if (read > 0)
                    return SocketIoResult.Transferred((int)read);
                if (read == 0)
                    return SocketIoResult.Closed;
                if (Outcome("recv") is { } result)
                    return result;
            }
        }
        finally
        {
            if (added) Handle.DangerousRelease();
        }
    }

    /// <summary>Writes what the socket takes now, up to all of <paramref name="data"/>; the count may be short.</summary>
    public SocketIoResult Write(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
            return SocketIoResult.Transferred(0);
        bool added = false;
        Handle.DangerousAddRef(ref added);
        try
        {
            while (true)
            {
                nint written;
                // Safe because the kernel reads at most data.Length bytes from the pinned span.
                fixed (byte* pointer = data)
                    written = Libc.Send(Handle.Fd, pointer, (nuint)data.Length, Libc.MSG_NOSIGNAL);
                if (written >= 0)
                    return SocketIoResult.Transferred((int)written);
                if (Outcome("send") is { } result)
                    return result;
            }
        }
        finally
        {
            if (added) Handle.DangerousRelease();
        }
    }

    /// <summary>After a failed recv/send: the status to report, or null to retry (EINTR); throws for anything unexpected.</summary>
    private static SocketIoResult? Outcome(string operation)
    {
        int errno = Marshal.GetLastPInvokeError();
        return (Errno)errno switch
        {
            Errno.EINTR => null,
            Errno.EAGAIN => SocketIoResult.WouldBlock,
            Errno.EPIPE or Errno.ECONNRESET or Errno.ENOTCONN => SocketIoResult.Closed,
            _ => throw new SystemCallException(operation, errno),
        };
    }

    /// <summary>Half-closes: the peer reads end of stream (vsock SHUTDOWN with the send flag); reading goes on.</summary>
    public void ShutdownWrite() => Shutdown(Libc.SHUT_WR);

    /// <summary>Stops receiving; what the peer sends from now on is discarded.</summary>
    public void ShutdownRead() => Shutdown(Libc.SHUT_RD);

    private void Shutdown(int how)
    {
        bool added = false;
        Handle.DangerousAddRef(ref added);
        try
        {
            // ENOTCONN: the peer already left; the half-close has nothing left to do.
            if (Libc.Shutdown(Handle.Fd, how) != 0 && Marshal.GetLastPInvokeError() != (int)Errno.ENOTCONN)
                throw SystemCallException.FromLastError("shutdown");
        }
        finally
        {
            if (added) Handle.DangerousRelease();
        }
    }

    public void Dispose() => Handle.Dispose();
}
