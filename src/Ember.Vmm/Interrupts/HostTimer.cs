namespace Ember.Vmm.Interrupts;

/// <summary>
/// A re-armable one-shot host timer for the user-space interrupt controllers (PIT ticks, vCPU kicks,
/// storm-guard retries). Delays are rounded up to whole milliseconds, the resolution of
/// <see cref="System.Threading.Timer"/>, so a timer never fires before the moment it was armed for.
/// <see cref="Dispose"/> waits for a running callback to finish, so nothing the callback touches
/// (irqfds, vCPU run pages) is used after its owner has been torn down.
/// </summary>
internal sealed class HostTimer : IDisposable
{
    private readonly Timer _timer;
    private readonly Action _callback;
    private readonly Lock _lock = new();
    private bool _disposed;
    private bool _armed;

    public HostTimer(Action callback)
    {
        _callback = callback;
        _timer = new Timer(_ => Fire(), null, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>Fires once after <paramref name="delay"/>, replacing any earlier arming.</summary>
    public void Arm(TimeSpan delay)
    {
        lock (_lock)
        {
            if (_disposed)
                return;
            _armed = true;
            _timer.Change(ToDueMilliseconds(delay), Timeout.Infinite);
        }
    }

    /// <summary>Fires once after <paramref name="delay"/> unless the timer is already armed (which keeps its time).</summary>
    public void ArmIfIdle(TimeSpan delay)
    {
        lock (_lock)
        {
            if (_disposed || _armed)
                return;
            _armed = true;
            _timer.Change(ToDueMilliseconds(delay), Timeout.Infinite);
        }
    }

    public void Cancel()
    {
        lock (_lock)
        {
            if (_disposed)
                return;
            _armed = false;
            _timer.Change(Timeout.Infinite, Timeout.Infinite);
        }
    }

    private void Fire()
    {
        lock (_lock)
        {
            if (_disposed)
                return;
            _armed = false;
        }
        try
        {
            _callback();
        }
        catch (ObjectDisposedException)
        {
            // The machine is being torn down while the timer fired; there is nothing left to drive.
        }
    }

    private static long ToDueMilliseconds(TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
            return 0;
        long milliseconds = (delay.Ticks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond;
        return Math.Min(milliseconds, uint.MaxValue - 1L);
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
        }
        using var callbacksDone = new ManualResetEvent(false);
        if (_timer.Dispose(callbacksDone))
            callbacksDone.WaitOne();
    }
}
