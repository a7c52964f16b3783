using System.Runtime.InteropServices;

namespace Ember.Sys;

/// <summary>
/// An epoll-based event loop: device backends and timers subscribe an fd with a handler, and one thread
/// (started with a <see cref="ThreadRole"/>) waits on all of them and calls each handler when its fd is
/// ready. Subscribing and unsubscribing work from any thread. Once <see cref="Unsubscribe"/> returns,
/// that handler is not running and never runs again, so its owner may close what it uses.
/// <para>
/// A handler that throws <see cref="ObjectDisposedException"/> or <see cref="SystemCallException"/> (an fd
/// or the VM went away under it during teardown) is counted in <see cref="HandlerFailures"/> and the loop
/// goes on; any other exception is a bug and ends the process, as it would on any thread.
/// </para>
/// </summary>
public sealed class EventLoop : IDisposable
{
    private const ulong StopToken = 0;
    private const ulong WakeToken = ulong.MaxValue;
    private const int BatchSize = 32;

    private readonly Epoll _epoll = new();
    private readonly EventFd _stop = new();
    private readonly EventFd _wake = new();
    private readonly object _pauseLock = new();
    private bool _pauseRequested;
    private bool _parked;
    private readonly Lock _dispatch = new();
    private readonly Dictionary<ulong, EventSubscription> _subscriptions = [];
    private ulong _nextToken = StopToken + 1;
    private Thread? _thread;
    private volatile bool _stopping;
    private long _handlerFailures;

    public EventLoop()
    {
        _epoll.Add(_stop.Handle, EpollEvents.In, StopToken);
        _epoll.Add(_wake.Handle, EpollEvents.In, WakeToken);
    }

    /// <summary>Handler calls that failed because something was torn down under them.</summary>
    public long HandlerFailures => Interlocked.Read(ref _handlerFailures);

    /// <summary>True on the loop's own thread (handlers run there).</summary>
    public bool IsLoopThread => ReferenceEquals(Thread.CurrentThread, _thread);

    /// <summary>Calls <paramref name="handler"/> on the loop thread whenever <paramref name="fd"/> reports <paramref name="events"/> (level-triggered).</summary>
    public EventSubscription Subscribe(SafeHandle fd, EpollEvents events, Action<EpollEvents> handler)
    {
        ArgumentNullException.ThrowIfNull(fd);
        ArgumentNullException.ThrowIfNull(handler);
        EventSubscription subscription;
        lock (_dispatch)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            subscription = new EventSubscription(this, fd, _nextToken++, handler);
            _subscriptions.Add(subscription.Token, subscription);
        }
        try
        {
            _epoll.Add(fd, events, subscription.Token);
        }
        catch
        {
            lock (_dispatch)
                _subscriptions.Remove(subscription.Token);
            throw;
        }
        return subscription;
    }

    /// <summary>
    /// Changes what <paramref name="subscription"/> waits for (epoll_ctl MOD), or re-arms a <see cref="EpollEvents.OneShot"/>
    /// subscription. Unlike <see cref="Subscribe"/> and <see cref="Unsubscribe"/> it never waits for a running handler,
    /// so a device may call it under a lock its handlers take. A subscription already removed (or an fd already
    /// closed) is left alone.
    /// </summary>
    public void Modify(EventSubscription subscription, EpollEvents events)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        if (_stopping || subscription.Fd.IsClosed)
            return;
        try
        {
            _epoll.Modify(subscription.Fd, events, subscription.Token);
        }
        catch (SystemCallException e) when (e.Errno is Errno.ENOENT or Errno.EBADF)
        {
            // Unsubscribed meanwhile: nothing is waiting on it any more.
        }
        catch (ObjectDisposedException)
        {
            // The fd or the loop was disposed under us during teardown.
        }
    }

    /// <summary>Stops calling the subscription's handler; when this returns the handler is not running.</summary>
    public void Unsubscribe(EventSubscription subscription)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        lock (_dispatch)
        {
            if (!_subscriptions.Remove(subscription.Token))
                return;
            // The fd may already be closed by its owner; epoll forgets closed fds by itself.
            if (!subscription.Fd.IsClosed)
            {
                try
                {
                    _epoll.Remove(subscription.Fd);
                }
                catch (SystemCallException e) when (e.Errno is Errno.ENOENT or Errno.EBADF)
                {
                }
            }
        }
    }

    /// <summary>
    /// Changes which readiness the subscription's handler is called for (EPOLL_CTL_MOD; None leaves only errors and
    /// hang-ups, which epoll always reports). Callable from any thread, a handler included, and it does not take the
    /// dispatch lock, so a caller may hold a lock of its own that its handler also takes. A subscription that is gone
    /// (unsubscribed, its fd closed, the loop disposed) is left alone.
    /// </summary>
    public void ChangeEvents(EventSubscription subscription, EpollEvents events)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        if (_stopping)
            return;
        try
        {
            _epoll.Modify(subscription.Fd, events, subscription.Token);
        }
        catch (SystemCallException e) when (e.Errno is Errno.ENOENT or Errno.EBADF)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Starts the loop on its own thread.</summary>
    public void Start(ThreadRole role, string? name = null)
    {
        if (_thread is not null)
            throw new InvalidOperationException("the event loop is already running");
        _thread = VmmThreads.Start(role, name, RunLoop);
    }

    private void RunLoop()
    {
        Span<ReadyEvent> ready = stackalloc ReadyEvent[BatchSize];
        while (!_stopping)
        {
            int count = _epoll.Wait(ready, timeoutMs: -1);
            ParkWhilePaused();
            lock (_dispatch)
            {
                for (int i = 0; i < count && !_stopping; i++)
                {
                    if (ready[i].Token == StopToken)
                        continue;
                    if (ready[i].Token == WakeToken)
                    {
                        _wake.Drain();
                        continue;
                    }
                    // Looked up under the lock: an event for a subscription removed since epoll_wait returned is dropped.
                    if (!_subscriptions.TryGetValue(ready[i].Token, out var subscription))
                        continue;
                    try
                    {
                        subscription.Handler(ready[i].Events);
                    }
                    catch (Exception e) when (e is ObjectDisposedException or SystemCallException)
                    {
                        Interlocked.Increment(ref _handlerFailures);
                    }
                }
            }
        }
    }

    /// <summary>True between <see cref="Pause"/> and <see cref="Resume"/>.</summary>
    public bool IsPaused
    {
        get
        {
            lock (_pauseLock)
                return _pauseRequested;
        }
    }

    /// <summary>
    /// Stops calling handlers until <see cref="Resume"/>: when this returns, no handler is running and none will
    /// start (readiness that arrives meanwhile is served after the resume, since epoll is level-triggered).
    /// Never call it from a handler. Returns false if the loop thread did not park within <paramref name="timeout"/>
    /// (a handler that does not return); the pause still takes effect when that handler ends.
    /// </summary>
    public bool Pause(TimeSpan timeout)
    {
        if (IsLoopThread)
            throw new InvalidOperationException("an event loop cannot pause itself from one of its handlers");
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        lock (_pauseLock)
        {
            _pauseRequested = true;
            if (_thread is null || _stopping)
                return true;
        }
        _wake.Signal();
        lock (_pauseLock)
        {
            while (!_parked && !_stopping && _thread.IsAlive)
            {
                long left = deadline - Environment.TickCount64;
                if (left <= 0)
                    return false;
                Monitor.Wait(_pauseLock, (int)Math.Min(left, 50));
            }
            return true;
        }
    }

    /// <summary>Lets the loop call handlers again after <see cref="Pause"/>.</summary>
    public void Resume()
    {
        lock (_pauseLock)
        {
            _pauseRequested = false;
            Monitor.PulseAll(_pauseLock);
        }
    }

    private void ParkWhilePaused()
    {
        lock (_pauseLock)
        {
            if (!_pauseRequested)
                return;
            _parked = true;
            Monitor.PulseAll(_pauseLock);
            while (_pauseRequested && !_stopping)
                Monitor.Wait(_pauseLock);
            _parked = false;
        }
    }

    /// <summary>Stops the loop and waits for its thread (unless called from a handler).</summary>
    public void Dispose()
    {
        if (_stopping)
            return;
        _stopping = true;
        lock (_pauseLock)
            Monitor.PulseAll(_pauseLock);
        _stop.Signal();
        if (_thread is not null && !IsLoopThread)
            _thread.Join();
        lock (_dispatch)
            _subscriptions.Clear();
        _epoll.Dispose();
        _stop.Dispose();
        _wake.Dispose();
    }
}
