using System.Text;

namespace Ember.Sys.Tests.Sockets;

/// <summary>Real Unix stream sockets in a temporary directory: listening, connecting, non-blocking transfers, paths.</summary>
public sealed class UnixSocketTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("ember-uds-");

    private string PathOf(string name) => System.IO.Path.Combine(_directory.FullName, name);

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public void AConnectionIsAcceptedWhenTheListenerIsReadyAndCarriesBytesBothWays()
    {
        using var listener = UnixListener.Bind(PathOf("v.sock"));
        Assert.Null(listener.Accept());

        using var client = UnixStream.Connect(listener.Path);
        Assert.True(WaitReadable(listener.Handle), "a waiting connection makes the listener readable");
        using var server = listener.Accept();
        Assert.NotNull(server);
        Assert.Null(listener.Accept());

        Assert.Equal(SocketIoResult.Transferred(11), client.Write("CONNECT 52\n"u8));
        Assert.True(WaitReadable(server.Handle));
        var buffer = new byte[64];
        var read = server.Read(buffer);
        Assert.Equal(SocketIoStatus.Transferred, read.Status);
        Assert.Equal("CONNECT 52\n", Encoding.ASCII.GetString(buffer, 0, read.Count));

        Assert.Equal(SocketIoResult.Transferred(14), server.Write("OK 1073741824\n"u8));
        Assert.True(WaitReadable(client.Handle));
        read = client.Read(buffer);
        Assert.Equal("OK 1073741824\n", Encoding.ASCII.GetString(buffer, 0, read.Count));
    }

    [Fact]
    public void ReadingAnIdleStreamWouldBlock()
    {
        using var listener = UnixListener.Bind(PathOf("v.sock"));
        using var client = UnixStream.Connect(listener.Path);
        using var server = Accept(listener);
        Assert.Equal(SocketIoResult.WouldBlock, server.Read(new byte[16]));
        Assert.Equal(SocketIoResult.WouldBlock, client.Read(new byte[16]));
    }

    [Fact]
    public void WritingToAPeerThatDoesNotReadWouldBlockOnceItsBufferIsFull()
    {
        using var listener = UnixListener.Bind(PathOf("v.sock"));
        using var client = UnixStream.Connect(listener.Path);
        using var server = Accept(listener);
        var chunk = new byte[64 * 1024];
        long total = 0;
        SocketIoResult result;
        while ((result = client.Write(chunk)).Status == SocketIoStatus.Transferred)
        {
            Assert.InRange(result.Count, 1, chunk.Length);
            total += result.Count;
            Assert.True(total < 64L * 1024 * 1024, "a socket buffer is not 64 MiB");
        }
        Assert.Equal(SocketIoStatus.WouldBlock, result.Status);
        Assert.True(total > 0);

        // What was taken arrives whole.
        long received = 0;
        var buffer = new byte[64 * 1024];
        while ((result = server.Read(buffer)).Status == SocketIoStatus.Transferred)
            received += result.Count;
        Assert.Equal(total, received);
    }

    [Fact]
    public void APeerThatClosesReadsAsClosedAndWritingToItNeitherThrowsNorKills()
    {
        using var listener = UnixListener.Bind(PathOf("v.sock"));
        using var client = UnixStream.Connect(listener.Path);
        var server = Accept(listener);
        server.Dispose();
        Assert.Equal(SocketIoResult.Closed, client.Read(new byte[16]));
        // The first write may still be taken by the kernel before it notices; the next fails with EPIPE (no SIGPIPE).
        client.Write("lost"u8);
        Assert.Equal(SocketIoResult.Closed, client.Write("lost"u8));
    }

    [Fact]
    public void AHalfClosedStreamEndsForThePeerButStillReceives()
    {
        using var listener = UnixListener.Bind(PathOf("v.sock"));
        using var client = UnixStream.Connect(listener.Path);
        using var server = Accept(listener);
        client.ShutdownWrite();
        Assert.Equal(SocketIoResult.Closed, server.Read(new byte[16]));
        Assert.Equal(SocketIoResult.Transferred(5), server.Write("reply"u8));
        var buffer = new byte[16];
        Assert.Equal(SocketIoResult.Transferred(5), client.Read(buffer));
    }

    [Fact]
    public void ConnectingWhereNobodyListensSaysWhy()
    {
        Assert.False(UnixStream.TryConnect(PathOf("absent.sock"), out var stream, out var error));
        Assert.Null(stream);
        Assert.Equal(Errno.ENOENT, error);

        var refused = Assert.Throws<SystemCallException>(() => UnixStream.Connect(PathOf("absent.sock")));
        Assert.Contains(PathOf("absent.sock"), refused.Message);
        Assert.Contains("no such socket", refused.Message);

        var stale = MakeStaleSocket(PathOf("stale.sock"));
        Assert.False(UnixStream.TryConnect(stale, out _, out error));
        Assert.Equal(Errno.ECONNREFUSED, error);
    }

    [Fact]
    public void DisposingTheListenerRemovesItsSocketFile()
    {
        var path = PathOf("v.sock");
        var listener = UnixListener.Bind(path);
        Assert.Equal(HostFileKind.Socket, HostFile.Inspect(path).Kind);
        listener.Dispose();
        Assert.Equal(HostFileKind.Missing, HostFile.Inspect(path).Kind);
    }

    [Fact]
    public void DisposingRemovesTheSocketFileEvenWhileAChildStillHoldsTheListeningDescriptor()
    {
        // A process forked by another thread holds every descriptor until it execs (close-on-exec acts only then),
        // so the listening socket still accepts connections after Dispose closed Ember's descriptor.
        var path = PathOf("v.sock");
        var listener = UnixListener.Bind(path);
        int childCopy = Dup(listener.Handle.Fd);
        Assert.True(childCopy >= 0, "dup of the listening socket");
        try
        {
            listener.Dispose();
            Assert.Equal(HostFileKind.Missing, HostFile.Inspect(path).Kind);
        }
        finally
        {
            Close(childCopy);
        }
    }

    [Fact]
    public void AStaleSocketIsReplacedAndItsOldOwnerLeavesTheNewOneAlone()
    {
        var path = PathOf("v.sock");
        var old = UnixListener.Bind(path);
        old.Handle.Dispose(); // its process died: the file stays, nobody listens

        using var replacement = UnixListener.Bind(path);
        using var client = UnixStream.Connect(path);
        old.Dispose();
        Assert.Equal(HostFileKind.Socket, HostFile.Inspect(path).Kind);
        Assert.NotNull(Accept(replacement));
    }

    [Fact]
    public void ASocketSomebodyListensOnIsNotTaken()
    {
        var path = PathOf("v.sock");
        using var first = UnixListener.Bind(path);
        var refused = Assert.Throws<SystemCallException>(() => UnixListener.Bind(path));
        Assert.Equal(Errno.EADDRINUSE, refused.Errno);
        Assert.Contains(path, refused.Message);
        Assert.Contains("another program is listening", refused.Message);
        using var client = UnixStream.Connect(path);
        Assert.NotNull(Accept(first));
    }

    [Fact]
    public void ARegularFileIsNeverOverwritten()
    {
        var path = PathOf("precious.txt");
        File.WriteAllText(path, "keep me");
        var refused = Assert.Throws<SystemCallException>(() => UnixListener.Bind(path));
        Assert.Equal(Errno.EEXIST, refused.Errno);
        Assert.Contains($"{path}: it is a regular file", refused.Message);
        Assert.DoesNotContain('\n', refused.Message);
        Assert.Equal("keep me", File.ReadAllText(path));
    }

    [Fact]
    public void ADirectoryOrASymbolicLinkIsRefused()
    {
        var directory = PathOf("dir");
        Directory.CreateDirectory(directory);
        Assert.Contains("is a directory", Assert.Throws<SystemCallException>(() => UnixListener.Bind(directory)).Message);

        // A link to a stale socket is still refused: removing it would be removing the user's link, not a socket.
        var link = PathOf("link.sock");
        File.CreateSymbolicLink(link, MakeStaleSocket(PathOf("stale.sock")));
        Assert.Contains("is a symbolic link", Assert.Throws<SystemCallException>(() => UnixListener.Bind(link)).Message);
        Assert.NotNull(new FileInfo(link).LinkTarget);
    }

    [Fact]
    public void AMissingDirectoryIsNamed()
    {
        var path = PathOf("no/such/dir/v.sock");
        var refused = Assert.Throws<SystemCallException>(() => UnixListener.Bind(path));
        Assert.Equal(Errno.ENOENT, refused.Errno);
        Assert.Contains($"{path}: its directory does not exist", refused.Message);
    }

    [Fact]
    public void FindBindProblemSaysWhatBindWouldAndTouchesNothing()
    {
        var free = PathOf("free.sock");
        Assert.Null(UnixListener.FindBindProblem(free));
        Assert.False(File.Exists(free));

        var stale = MakeStaleSocket(PathOf("stale.sock"));
        Assert.Null(UnixListener.FindBindProblem(stale));
        Assert.Equal(HostFileKind.Socket, HostFile.Inspect(stale).Kind);

        var live = PathOf("live.sock");
        using var listener = UnixListener.Bind(live);
        Assert.Contains("another program is listening", UnixListener.FindBindProblem(live));

        var file = PathOf("precious.txt");
        File.WriteAllText(file, "keep me");
        Assert.Contains($"{file}: it is a regular file", UnixListener.FindBindProblem(file));
        Assert.Equal("keep me", File.ReadAllText(file));

        var missing = PathOf("no/such/dir/v.sock");
        Assert.Contains($"{missing}: its directory does not exist", UnixListener.FindBindProblem(missing));
        Assert.Contains("at most 107", UnixListener.FindBindProblem(PathOf(new string('s', UnixSocketPath.MaxBytes))));
    }

    [Fact]
    public void PathsThatCannotNameASocketAreRefusedBeforeAnySystemCall()
    {
        var tooLong = PathOf(new string('s', UnixSocketPath.MaxBytes));
        Assert.Contains("at most 107", Assert.Throws<ArgumentException>(() => UnixListener.Bind(tooLong)).Message);
        Assert.Throws<ArgumentException>(() => UnixStream.Connect(tooLong));
        Assert.NotNull(UnixSocketPath.Validate(""));
        Assert.NotNull(UnixSocketPath.Validate("a\0b"));
        // 107 bytes fit; multi-byte characters count as their UTF-8 bytes.
        Assert.Null(UnixSocketPath.Validate("/" + new string('a', 106)));
        Assert.NotNull(UnixSocketPath.Validate("/" + new string('\u00e9', 54)));
    }

    [Fact]
    public async Task AConnectionSubscribedToTheEventLoopIsServedThere()
    {
        using var listener = UnixListener.Bind(PathOf("v.sock"));
        using var loop = new EventLoop();
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        UnixStream? server = null;
        EventSubscription? serverSubscription = null;
        using var accepting = loop.Subscribe(listener.Handle, EpollEvents.In, _ =>
        {
            server = listener.Accept();
            if (server is null)
                return;
            serverSubscription = loop.Subscribe(server.Handle, EpollEvents.In, _ =>
            {
                var buffer = new byte[32];
                var read = server.Read(buffer);
                if (read.Status == SocketIoStatus.Transferred)
                    received.TrySetResult(Encoding.ASCII.GetString(buffer, 0, read.Count));
            });
        });
        loop.Start(ThreadRole.DeviceIo, "uds-test");
        using var client = UnixStream.Connect(listener.Path);
        client.Write("hello"u8);
        Assert.Equal("hello", await received.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
        serverSubscription?.Dispose();
        server?.Dispose();
    }

    private static UnixStream Accept(UnixListener listener)
    {
        Assert.True(WaitReadable(listener.Handle));
        return listener.Accept() ?? throw new InvalidOperationException("no connection to accept");
    }

    /// <summary>A socket file whose listener is gone: bound and closed by a listener whose Dispose never ran.</summary>
    private static string MakeStaleSocket(string path)
    {
        var listener = UnixListener.Bind(path);
        listener.Handle.Dispose();
        return path;
    }

    private static bool WaitReadable(FileDescriptorHandle handle)
    {
        using var epoll = new Epoll();
        epoll.Add(handle, EpollEvents.In, 1);
        Span<ReadyEvent> ready = stackalloc ReadyEvent[1];
        return epoll.Wait(ready, 10_000) == 1;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "dup")]
    private static extern int Dup(int fd);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "close")]
    private static extern int Close(int fd);
}
