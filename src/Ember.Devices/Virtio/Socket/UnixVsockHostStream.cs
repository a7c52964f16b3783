using Ember.Sys;

namespace Ember.Devices.Virtio.Socket;

/// <summary>
/// A vsock connection's host end as a Unix stream socket, its readiness served by an <see cref="EventLoop"/>. The fd
/// is registered one-shot (<see cref="EpollEvents.OneShot"/>): each report disarms it and the device re-arms it with
/// what it can use, so a socket with bytes the guest cannot take yet, or whose peer hung up, does not wake the loop
/// again and again. Transfers turn unexpected socket errors into <see cref="SocketIoStatus.Closed"/>, so nothing here
/// throws into the device.
/// </summary>
internal sealed class UnixVsockHostStream : IVsockHostStream
{
    private readonly UnixStream _stream;
    private readonly EventLoop _loop;
    private readonly IVsockHostEvents _events;
    private readonly Lock _gate = new();
    private EventSubscription? _subscription;
    private VsockStreamEvents _requested;
    private bool _armedForHangUpOnly;
    private bool _hungUp;
    private bool _started;
    private bool _disposed;

    public UnixVsockHostStream(UnixStream stream, EventLoop loop, IVsockHostEvents events)
    {
        _stream = stream;
        _loop = loop;
        _events = events;
    }

    public SocketIoResult Read(Span<byte> buffer)
    {
        try
        {
            return _stream.Read(buffer);
        }
        catch (Exception e) when (e is SystemCallException or ObjectDisposedException)
        {
            return SocketIoResult.Closed;
        }
    }

    public SocketIoResult Write(ReadOnlySpan<byte> data)
    {
        try
        {
            return _stream.Write(data);
        }
        catch (Exception e) when (e is SystemCallException or ObjectDisposedException)
        {
            return SocketIoResult.Closed;
        }
    }

    public void ShutdownWrite()
    {
        try
        {
            _stream.ShutdownWrite();
        }
        catch (Exception e) when (e is SystemCallException or ObjectDisposedException)
        {
            // Gone already: the peer sees the end of the stream anyway.
        }
    }

    public void RequestEvents(VsockStreamEvents events)
    {
        lock (_gate)
        {
            _requested = events & (VsockStreamEvents.Readable | VsockStreamEvents.Writable);
            if (_subscription is not null)
                Arm();
        }
    }

    public void Start()
    {
        EpollEvents initial;
        lock (_gate)
        {
            if (_started || _disposed)
                return;
            _started = true;
            initial = ToEpoll(_requested);
            _armedForHangUpOnly = _requested == VsockStreamEvents.None;
        }
        EventSubscription subscription;
        try
        {
            // Outside the gate: subscribing may wait for a running handler, which may be waiting for the gate.
            subscription = _loop.Subscribe(_stream.Handle, initial, OnReady);
        }
        catch (Exception e) when (e is SystemCallException or ObjectDisposedException)
        {
            // No readiness can ever come: the device must hear of it now, as a hang-up, or it waits forever.
            _stream.Dispose();
            _events.StreamReady(this, VsockStreamEvents.HangUp);
            return;
        }
        bool disposed;
        lock (_gate)
        {
            disposed = _disposed;
            if (!disposed)
            {
                _subscription = subscription;
                if (ToEpoll(_requested) != initial)
                    Arm();
            }
        }
        if (disposed)
            subscription.Dispose();
    }

    /// <summary>Re-arms the one-shot registration with what was requested (under the gate).</summary>
    private void Arm()
    {
        if (_requested == VsockStreamEvents.None)
        {
            // Nothing wanted, but a hang-up should still be heard once; after one has been, never again.
            if (_hungUp || _armedForHangUpOnly)
                return;
            _armedForHangUpOnly = true;
        }
        else
        {
            _armedForHangUpOnly = false;
        }
        _loop.Modify(_subscription!, ToEpoll(_requested));
    }

    private void OnReady(EpollEvents ready)
    {
        var events = VsockStreamEvents.None;
        if ((ready & EpollEvents.In) != 0)
            events |= VsockStreamEvents.Readable;
        if ((ready & EpollEvents.Out) != 0)
            events |= VsockStreamEvents.Writable;
        if ((ready & (EpollEvents.HangUp | EpollEvents.Error)) != 0)
            events |= VsockStreamEvents.HangUp;
        lock (_gate)
        {
            if (_disposed)
                return;
            // The report disarmed the registration; whatever the device asks next re-arms it.
            _armedForHangUpOnly = false;
            _hungUp |= (events & VsockStreamEvents.HangUp) != 0;
        }
        _events.StreamReady(this, events);
    }

    private static EpollEvents ToEpoll(VsockStreamEvents events)
    {
        var epoll = EpollEvents.OneShot;
        if ((events & VsockStreamEvents.Readable) != 0)
            epoll |= EpollEvents.In;
        if ((events & VsockStreamEvents.Writable) != 0)
            epoll |= EpollEvents.Out;
        return epoll;
    }

    public void Dispose()
    {
        EventSubscription? subscription;
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            subscription = _subscription;
            _subscription = null;
        }
        // Unsubscribing waits for a running handler of this stream (unless this is that handler's thread).
        subscription?.Dispose();
        _stream.Dispose();
    }
}
