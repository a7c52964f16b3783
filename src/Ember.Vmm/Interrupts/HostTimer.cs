using System.Diagnostics;
using Ember.Kvm;

namespace Ember.Vmm.Interrupts;

/// <summary>
/// A re-armable one-shot host timer for the user-space interrupt controllers (PIT ticks, vCPU kicks,
/// storm-guard retries), on its own thread. The thread pool's timers add milliseconds of dispatch
/// latency on a busy host, which turns a 1 kHz PIT into 250 Hz of coalesced edges; a dedicated thread
/// sleeping on a monitor wakes within the kernel's timer slack. Waits are rounded up to whole
/// milliseconds (the monitor's resolution), so a timer never fires before its deadline and never spins.
/// <see cref="Dispose"/> joins the thread, so no callback runs once it returns: nothing the callback
/// touches (irqfds, vCPU run pages) is used after its owner has been torn down.
/// </summary>
internal sealed class HostTimer : IDisposable
{
    private const long NotArmed = long.MaxValue;

    private readonly object _gate = new();
    private readonly Action _callback;
    private readonly string _name;
    private Thread? _thread;
    private long _deadline = NotArmed;
    private bool _disposed;
    private long _failures;

    /// <param name="callback">Runs on the timer's thread; must not call <see cref="Dispose"/>.</param>
    /// <param name="name">The thread's name, for debuggers and stack dumps.</param>
    public HostTimer(Action callback, string name)
    {
        _callback = callback;
        _name = name;
    }

    /// <summary>Callbacks that failed because the machine was being torn down under them.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Fires once after <paramref name="delay"/>, replacing any earlier arming.</summary>
    public void Arm(TimeSpan delay) => SetDeadline(delay, onlyIfIdle: false);

    /// <summary>Fires once after <paramref name="delay"/> unless already armed (which keeps its deadline).</summary>
    public void ArmIfIdle(TimeSpan delay) => SetDeadline(delay, onlyIfIdle: true);

    public void Cancel()
    {
        lock (_gate)
        {
            _deadline = NotArmed;
            Monitor.Pulse(_gate);
        }
    }

    private void SetDeadline(TimeSpan delay, bool onlyIfIdle)
    {
        long now = Stopwatch.GetTimestamp();
        long ticks = delay <= TimeSpan.Zero ? 0 : (long)Math.Ceiling(delay.TotalSeconds * Stopwatch.Frequency);
        lock (_gate)
        {
            if (_disposed || (onlyIfIdle && _deadline != NotArmed))
                return;
            _deadline = now + ticks;
            if (_thread is null)
            {
                _thread = new Thread(Loop) { IsBackground = true, Name = _name };
                _thread.Start();
            }
            Monitor.Pulse(_gate);
        }
    }

    private void Loop()
    {
        while (WaitUntilDue())
        {
            try
            {
                _callback();
            }
            catch (Exception e) when (e is ObjectDisposedException or KvmException)
            {
                // The VM or an fd went away while the timer fired: the machine is being torn down.
                Interlocked.Increment(ref _failures);
            }
        }
    }

    /// <summary>Blocks until the deadline passes (true) or the timer is disposed (false); disarms on return.</summary>
    private bool WaitUntilDue()
    {
        lock (_gate)
        {
            while (!_disposed)
            {
                if (_deadline == NotArmed)
                {
                    Monitor.Wait(_gate);
                    continue;
                }
                long remaining = _deadline - Stopwatch.GetTimestamp();
                if (remaining <= 0)
                {
                    _deadline = NotArmed;
                    return true;
                }
                long milliseconds = (remaining * 1000 + Stopwatch.Frequency - 1) / Stopwatch.Frequency;
                Monitor.Wait(_gate, (int)Math.Min(milliseconds, int.MaxValue));
            }
            return false;
        }
    }

    public void Dispose()
    {
        Thread? thread;
        lock (_gate)
        {
            _disposed = true;
            thread = _thread;
            Monitor.Pulse(_gate);
        }
        if (thread is not null && thread != Thread.CurrentThread)
            thread.Join();
    }
}
