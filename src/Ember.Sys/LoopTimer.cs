namespace Ember.Sys;

/// <summary>
/// A re-armable one-shot timer served by an <see cref="EventLoop"/>: a timerfd on CLOCK_MONOTONIC whose
/// callback runs on the loop's thread. The kernel wakes the loop at the deadline (within its timer slack,
/// never early), so a 1 kHz PIT gets 1 kHz of callbacks without a thread of its own. Once
/// <see cref="Dispose"/> returns the callback is not running and never runs again.
/// </summary>
public sealed class LoopTimer : IOneShotTimer, IDisposable
{
    private readonly TimerFd _timer = new();
    private readonly Action _callback;
    private readonly Lock _gate = new();
    private readonly EventSubscription _subscription;
    private bool _armed;
    private bool _disposed;

    /// <param name="loop">The loop whose thread runs <paramref name="callback"/>.</param>
    /// <param name="callback">Runs on the loop thread; must not dispose this timer's loop.</param>
    public LoopTimer(EventLoop loop, Action callback)
    {
        ArgumentNullException.ThrowIfNull(loop);
        _callback = callback ?? throw new ArgumentNullException(nameof(callback));
        _subscription = loop.Subscribe(_timer.Handle, EpollEvents.In, _ => OnExpired());
    }

    /// <summary>True between an arming and the callback (or <see cref="Cancel"/>).</summary>
    public bool IsArmed
    {
        get { lock (_gate) return _armed; }
    }

    /// <summary>Fires once after <paramref name="delay"/>, replacing any earlier arming.</summary>
    public void Arm(TimeSpan delay) => Set(delay, onlyIfIdle: false);

    /// <summary>Fires once after <paramref name="delay"/> unless already armed (which keeps its deadline).</summary>
    public void ArmIfIdle(TimeSpan delay) => Set(delay, onlyIfIdle: true);

    public void Cancel()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _armed = false;
            _timer.Disarm();
            _timer.Drain();
        }
    }

    private void Set(TimeSpan delay, bool onlyIfIdle)
    {
        lock (_gate)
        {
            if (_disposed || (onlyIfIdle && _armed))
                return;
            _armed = true;
            _timer.Arm(delay);
        }
    }

    private void OnExpired()
    {
        lock (_gate)
        {
            // A Cancel or re-arm after the expiry but before this ran leaves nothing to deliver.
            if (_disposed || _timer.Drain() == 0 || !_armed)
                return;
            _armed = false;
        }
        _callback();
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
        }
        _subscription.Dispose();
        _timer.Dispose();
    }
}
