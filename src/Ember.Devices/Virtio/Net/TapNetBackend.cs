using Ember.Sys;

namespace Ember.Devices.Virtio.Net;

/// <summary>
/// A virtio-net backend over a host TAP (<see cref="TapDevice"/>, IFF_VNET_HDR with the 12-byte header): frames go to and
/// come from the TAP as they are, and <see cref="Attach"/> subscribes the TAP's fd to an event loop, watching for exactly
/// the readiness the device asked for, so a device with no receive buffers leaves frames in the TAP's queue and the
/// loop does not spin on them.
/// </summary>
/// <remarks>
/// Host errors never reach the guest's I/O path as exceptions: a write the kernel refuses (a header it rejects, the
/// interface down) drops that frame; an error on the fd itself (the interface was deleted) stops the backend, which then
/// takes and gives nothing and is counted in <see cref="Failures"/>.
/// </remarks>
public sealed class TapNetBackend : INetBackend, IDisposable
{
    private readonly TapDevice _tap;
    private readonly Lock _lock = new();
    private EventLoop? _loop;
    private EventSubscription? _subscription;
    private NetReadiness _wanted;
    private volatile bool _failed;
    private long _failures;
    private long _refusedFrames;

    /// <summary>Takes ownership of <paramref name="tap"/>; disposing the backend closes it.</summary>
    public TapNetBackend(TapDevice tap)
    {
        ArgumentNullException.ThrowIfNull(tap);
        _tap = tap;
    }

    public string Name => _tap.Name;

    /// <summary>Read or fd errors after which the backend stopped.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Frames the host kernel would not take (bad header, interface down).</summary>
    public long RefusedFrames => Interlocked.Read(ref _refusedFrames);

    /// <summary>True once the TAP failed; the backend then does nothing.</summary>
    public bool HasFailed => _failed;

    /// <summary>
    /// Subscribes the TAP to <paramref name="loop"/>: <paramref name="ready"/> (normally <see cref="VirtioNet.OnBackendReady"/>)
    /// is called on the loop's thread with the readiness asked for through <see cref="Watch"/>. Once only.
    /// </summary>
    public void Attach(EventLoop loop, Action<NetReadiness> ready)
    {
        ArgumentNullException.ThrowIfNull(loop);
        ArgumentNullException.ThrowIfNull(ready);
        lock (_lock)
        {
            if (_subscription is not null)
                throw new InvalidOperationException($"TAP '{Name}' is already attached to an event loop");
            _loop = loop;
            _subscription = loop.Subscribe(_tap.Handle, ToEpoll(_wanted), events => OnEvents(events, ready));
        }
    }

    public int ReceiveFrame(Span<byte> buffer)
    {
        if (_failed)
            return 0;
        try
        {
            return _tap.ReadFrame(buffer);
        }
        catch (Exception e) when (e is SystemCallException or ObjectDisposedException)
        {
            Fail();
            return 0;
        }
    }

    public NetSendResult SendFrame(ReadOnlySpan<byte> frame)
    {
        if (_failed)
            return NetSendResult.Refused;
        try
        {
            return _tap.WriteFrame(frame) ? NetSendResult.Sent : NetSendResult.WouldBlock;
        }
        catch (SystemCallException e) when (e.Errno is Errno.EINVAL or Errno.EIO or Errno.EFAULT or Errno.ENOMEM)
        {
            // The kernel judged this frame (its virtio-net header, its size) or the link is down: drop it, carry on.
            Interlocked.Increment(ref _refusedFrames);
            return NetSendResult.Refused;
        }
        catch (Exception e) when (e is SystemCallException or ObjectDisposedException)
        {
            Fail();
            return NetSendResult.Refused;
        }
    }

    public bool SetOffload(TapOffload offload)
    {
        if (_failed)
            return false;
        try
        {
            _tap.SetOffload(offload);
            return true;
        }
        catch (Exception e) when (e is SystemCallException or ObjectDisposedException)
        {
            return false;
        }
    }

    public void Watch(NetReadiness wanted)
    {
        // Called under the device lock, which the loop's handler also takes: ChangeEvents does not wait for the loop.
        lock (_lock)
        {
            _wanted = wanted;
            if (_subscription is not null && !_failed)
                _loop!.ChangeEvents(_subscription, ToEpoll(wanted));
        }
    }

    private void OnEvents(EpollEvents events, Action<NetReadiness> ready)
    {
        if ((events & (EpollEvents.Error | EpollEvents.HangUp)) != 0)
        {
            // Reported whatever the interest; level-triggered, it would come back at once for ever.
            Fail();
            return;
        }
        var readiness = ((events & EpollEvents.In) != 0 ? NetReadiness.Readable : NetReadiness.None)
            | ((events & EpollEvents.Out) != 0 ? NetReadiness.Writable : NetReadiness.None);
        if (readiness != NetReadiness.None)
            ready(readiness);
    }

    private void Fail()
    {
        if (!_failed)
        {
            _failed = true;
            Interlocked.Increment(ref _failures);
        }
        lock (_lock)
        {
            if (_subscription is not { } subscription)
                return;
            if (_loop!.IsLoopThread)
            {
                // The loop's own thread may unsubscribe from inside a handler; errors and hang-ups stop for good.
                _subscription = null;
                subscription.Dispose();
            }
            else
            {
                // Elsewhere (a vCPU holding the device lock the loop's handler may be waiting for) unsubscribing could
                // deadlock: go quiet instead, and let the loop thread unsubscribe if the fd keeps reporting errors.
                _loop.ChangeEvents(subscription, EpollEvents.None);
            }
        }
    }

    private static EpollEvents ToEpoll(NetReadiness readiness) =>
        ((readiness & NetReadiness.Readable) != 0 ? EpollEvents.In : EpollEvents.None)
        | ((readiness & NetReadiness.Writable) != 0 ? EpollEvents.Out : EpollEvents.None);

    public void Dispose()
    {
        EventSubscription? subscription;
        lock (_lock)
        {
            subscription = _subscription;
            _subscription = null;
        }
        subscription?.Dispose();
        _tap.Dispose();
    }
}
