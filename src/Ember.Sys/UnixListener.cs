using System.Runtime.InteropServices;
using Ember.Sys.Interop;

namespace Ember.Sys;

/// <summary>
/// A listening Unix stream socket bound to a path, non-blocking: subscribe <see cref="Handle"/> to an
/// <see cref="EventLoop"/> for In and <see cref="Accept"/> until it returns null.
/// <para>
/// Binding never destroys a user's file: a path that holds anything but a socket is refused, a socket somebody
/// still listens on is refused, and only a stale socket (its listener gone: connecting is refused) is replaced.
/// Disposing removes the socket file, if it is still the one this bound.
/// </para>
/// </summary>
public sealed unsafe class UnixListener : IDisposable
{
    private readonly (ulong Device, ulong Inode) _identity;
    private int _disposed;

    private UnixListener(FileDescriptorHandle handle, string path, (ulong, ulong) identity)
    {
        Handle = handle;
        Path = path;
        _identity = identity;
    }

    public FileDescriptorHandle Handle { get; }

    /// <summary>The path the socket is bound to.</summary>
    public string Path { get; }

    /// <summary>
    /// Binds and listens on <paramref name="path"/>. Throws <see cref="ArgumentException"/> for a path that cannot name
    /// a socket and <see cref="SystemCallException"/> with a one-line message naming the path when it is taken or
    /// cannot be created.
    /// </summary>
    public static UnixListener Bind(string path, int backlog = 128)
    {
        uint length = UnixSocketPath.Fill(path, out var address);
        RemoveStaleSocket(path);
        var handle = FileDescriptorHandle.FromResult(
            Libc.Socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, 0), "socket");
        try
        {
            // Safe because address is a local sockaddr_un and length is within it.
            if (Libc.Bind(handle.Fd, &address, length) != 0)
                throw BindFailure(path, Marshal.GetLastPInvokeError());
            if (Libc.Listen(handle.Fd, backlog) != 0)
                throw SystemCallException.FromLastError("listen");
            if (HostFile.IdentifyLink(path, out _, out var identity) is { } errno)
                throw new SystemCallException("lstat", (int)errno);
            return new UnixListener(handle, path, identity);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Readies <paramref name="path"/> for a socket some other server binds (Kestrel): checks that it can name a
    /// socket and removes a stale socket there, under the same rules as <see cref="Bind"/>. Throws the same errors.
    /// </summary>
    public static void ClaimPath(string path)
    {
        _ = UnixSocketPath.Fill(path, out _);
        RemoveStaleSocket(path);
        string? directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (directory is not null && HostFile.Inspect(directory).Kind != HostFileKind.Directory)
            throw BindFailure(path, (int)Errno.ENOENT);
    }

    /// <summary>
    /// Why <see cref="Bind"/> would refuse <paramref name="path"/> (in the words it would throw), or null when it can
    /// bind there: the path can name a socket, its directory exists, and nothing is there but, at most, a stale
    /// socket. Looks only; removes nothing, so a configuration can be checked before anything is built.
    /// </summary>
    public static string? FindBindProblem(string path)
    {
        if (UnixSocketPath.Validate(path) is { } invalid)
            return invalid;
        if (FindOccupant(path, out _) is { } taken)
            return taken.Message;
        string? directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (directory is not null && HostFile.Inspect(directory).Kind != HostFileKind.Directory)
            return BindFailure(path, (int)Errno.ENOENT).Message;
        return null;
    }

    /// <summary>Leaves the path free for bind, or throws when what is there is not Ember's to remove.</summary>
    private static void RemoveStaleSocket(string path)
    {
        if (FindOccupant(path, out bool stale) is { } taken)
            throw taken;
        if (stale && Libc.Unlink(path) != 0 && Marshal.GetLastPInvokeError() != (int)Errno.ENOENT)
            throw BindFailure(path, Marshal.GetLastPInvokeError());
    }

    /// <summary>
    /// What stands in the way of binding at <paramref name="path"/>, or null; <paramref name="stale"/> says a stale
    /// socket is there (its listener gone: connecting is refused), which binding may replace.
    /// </summary>
    private static SystemCallException? FindOccupant(string path, out bool stale)
    {
        stale = false;
        var errno = HostFile.IdentifyLink(path, out uint fileType, out _);
        // Nothing there (or no such directory, which bind reports in its own words).
        if (errno is Errno.ENOENT or Errno.ENOTDIR)
            return null;
        if (errno is { } failed)
            return BindFailure(path, (int)failed);
        if (fileType != HostFile.SocketType)
        {
            string what = fileType switch
            {
                HostFile.RegularType => "a regular file",
                HostFile.DirectoryType => "a directory",
                HostFile.SymbolicLinkType => "a symbolic link",
                _ => "not a socket",
            };
            return new SystemCallException("bind", Errno.EEXIST,
                $"cannot listen on {path}: it is {what}; Ember replaces only a stale socket, so remove it or choose another path");
        }
        if (UnixStream.TryConnect(path, out var probe, out var connectError))
        {
            probe!.Dispose();
            return new SystemCallException("bind", Errno.EADDRINUSE,
                $"cannot listen on {path}: another program is listening on it; stop it or choose another path");
        }
        // Refused: the listener that made this socket is gone. Anything else (EAGAIN: a full backlog) means it is alive.
        if (connectError != Errno.ECONNREFUSED)
            return new SystemCallException("bind", Errno.EADDRINUSE,
                $"cannot listen on {path}: the socket there is still in use ({connectError}); stop its program or choose another path");
        stale = true;
        return null;
    }

    private static SystemCallException BindFailure(string path, int errno) => new("bind", (Errno)errno, (Errno)errno switch
    {
        Errno.ENOENT or Errno.ENOTDIR => $"cannot listen on {path}: its directory does not exist; create it first",
        Errno.EACCES or Errno.EPERM => $"cannot listen on {path}: permission denied in its directory",
        Errno.EADDRINUSE => $"cannot listen on {path}: something else created it just now; choose another path",
        _ => $"cannot listen on {path}: {(Errno)errno} ({Marshal.GetPInvokeErrorMessage(errno)})",
    });

    /// <summary>The next waiting connection, non-blocking; null when none is waiting.</summary>
    public UnixStream? Accept()
    {
        bool added = false;
        Handle.DangerousAddRef(ref added);
        try
        {
            while (true)
            {
                int fd = Libc.Accept4(Handle.Fd, null, null, Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC);
                if (fd >= 0)
                    return new UnixStream(new FileDescriptorHandle(fd));
                int errno = Marshal.GetLastPInvokeError();
                // ECONNABORTED: that peer gave up before we took it; the next one may be there.
                if (errno is (int)Errno.EINTR or (int)Errno.ECONNABORTED)
                    continue;
                if (errno == (int)Errno.EAGAIN)
                    return null;
                throw new SystemCallException("accept4", errno);
            }
        }
        finally
        {
            if (added) Handle.DangerousRelease();
        }
    }

    /// <summary>Stops listening and removes the socket file, unless another socket has replaced it since.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        // The identity check runs while the listener is still open: a bound socket holds its path's inode, so no
        // other file can have been given that inode number yet. (A connect probe after closing is no proof: a
        // child process between fork and exec still holds the listening descriptor and accepts the connection.)
        // A handle already closed by somebody else proves nothing, and the file is left alone.
        bool ours = !Handle.IsClosed
            && HostFile.IdentifyLink(Path, out uint fileType, out var identity) is null
            && fileType == HostFile.SocketType && identity == _identity;
        if (ours)
            Libc.Unlink(Path);
        Handle.Dispose();
    }
}
