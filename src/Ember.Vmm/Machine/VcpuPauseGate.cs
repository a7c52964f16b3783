namespace Ember.Vmm.Machine;

/// <summary>
/// The gate every vCPU thread of a machine passes at the top of its run loop, outside KVM_RUN. Closing it
/// (pause) makes each thread park there and say so; a parked thread still runs the work queued for it
/// (KVM_GET/SET calls, NMI delivery), because vCPU ioctls must come from the vCPU's own thread. Opening it
/// (resume) lets them re-enter KVM_RUN exactly where the guest was.
/// </summary>
internal sealed class VcpuPauseGate(int vcpuCount)
{
    /// <summary>A parked thread re-checks the gate, its work and the machine's stop at least this often.</summary>
    private static readonly TimeSpan RecheckInterval = TimeSpan.FromMilliseconds(100);

    private readonly object _lock = new();
    private volatile bool _closed;
    private int _parked;
    private int _ended;

    /// <summary>True from <see cref="Close"/> until <see cref="Open"/>.</summary>
    public bool IsClosed => _closed;

    /// <summary>Threads parked at the gate or already ended: all of them means the machine is paused.</summary>
    private bool AllOut => _parked + _ended >= vcpuCount;

    /// <summary>
    /// Closes the gate and waits until every vCPU thread has parked or ended, calling <paramref name="kick"/>
    /// (which takes vCPUs out of KVM_RUN and wakes halted ones) until then. Returns false after
    /// <paramref name="timeout"/>; the gate stays closed, and the caller decides whether to open it again.
    /// </summary>
    public bool Close(Action kick, TimeSpan timeout)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        lock (_lock)
            _closed = true;
        while (true)
        {
            kick();
            lock (_lock)
            {
                if (AllOut)
                    return true;
                long left = deadline - Environment.TickCount64;
                if (left <= 0)
                    return false;
                // Woken by each thread that parks; the timeout re-kicks one that was between its check and KVM_RUN.
                Monitor.Wait(_lock, (int)Math.Min(left, 20));
                if (AllOut)
                    return true;
            }
        }
    }

    /// <summary>Opens the gate: parked threads go back into KVM_RUN.</summary>
    public void Open()
    {
        lock (_lock)
        {
            _closed = false;
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>Wakes parked threads to look at their work queue or the machine's stop.</summary>
    public void Wake()
    {
        lock (_lock)
            Monitor.PulseAll(_lock);
    }

    /// <summary>A vCPU thread ended; it no longer counts among those a pause waits for.</summary>
    public void Leave()
    {
        lock (_lock)
        {
            _ended++;
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>
    /// Called by a vCPU thread outside KVM_RUN: returns at once while the gate is open; otherwise parks until it
    /// opens or <paramref name="stopRequested"/> says the machine stops, running <paramref name="runWork"/> whenever
    /// <paramref name="hasWork"/> says something is queued (outside the gate's lock).
    /// </summary>
    public void ParkWhileClosed(Func<bool> stopRequested, Func<bool> hasWork, Action runWork)
    {
        if (!_closed)
            return;
        lock (_lock)
        {
            if (!_closed)
                return;
            _parked++;
            Monitor.PulseAll(_lock);
        }
        try
        {
            while (true)
            {
                runWork();
                lock (_lock)
                {
                    if (!_closed || stopRequested())
                        return;
                    if (!hasWork())
                        Monitor.Wait(_lock, RecheckInterval);
                }
            }
        }
        finally
        {
            lock (_lock)
                _parked--;
        }
    }
}
