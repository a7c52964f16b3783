namespace Ember.Vmm.Machine;

/// <summary>
/// The gate every vCPU thread of a machine passes at the top of its run loop, outside KVM_RUN. Closing it
/// (pause) makes each thread park there and say so; a parked thread still runs the work queued for it
/// (KVM_GET/SET calls, NMI delivery), because vCPU ioctls must come from the vCPU's own thread. Opening it
/// (resume) lets them re-enter KVM_RUN exactly where the guest was.
/// <para>
/// A debugger can also hold single vCPUs (<see cref="Hold"/>): a held vCPU parks the same way while the gate is
/// open, so GDB can stop every vCPU, step one and leave the others parked. Holds and the pause are independent:
/// a paused machine with held vCPUs resumes with those still parked, and a parked vCPU counts for both.
/// </para>
/// </summary>
internal sealed class VcpuPauseGate(int vcpuCount)
{
    /// <summary>A parked thread re-checks the gate, its work and the machine's stop at least this often.</summary>
    private static readonly TimeSpan RecheckInterval = TimeSpan.FromMilliseconds(100);

    private readonly object _lock = new();
    private readonly bool[] _held = new bool[vcpuCount];
    private readonly bool[] _isParked = new bool[vcpuCount];
    private readonly bool[] _hasEnded = new bool[vcpuCount];
    private volatile bool _closed;
    private volatile int _heldCount;
    private int _parked;
    private int _ended;

    /// <summary>True from <see cref="Close"/> until <see cref="Open"/>.</summary>
    public bool IsClosed => _closed;

    /// <summary>True while vCPU <paramref name="vcpu"/> must stay out of KVM_RUN: the machine is paused or a debugger holds it.</summary>
    public bool IsClosedFor(int vcpu) => _closed || (_heldCount != 0 && Volatile.Read(ref _held[vcpu]));

    /// <summary>Threads parked at the gate or already ended: all of them means the machine is paused.</summary>
    private bool AllOut => _parked + _ended >= vcpuCount;

    /// <summary>
    /// Closes the gate and waits until every vCPU thread has parked or ended, calling <paramref name="kick"/>
    /// (which takes vCPUs out of KVM_RUN and wakes halted ones) until then. Returns false after
    /// <paramref name="timeout"/>; the gate stays closed, and the caller decides whether to open it again.
    /// </summary>
    public bool Close(Action kick, TimeSpan timeout)
    {
        lock (_lock)
            _closed = true;
        return WaitUntil(() => AllOut, kick, timeout);
    }

    /// <summary>Opens the gate: parked threads go back into KVM_RUN (those a debugger holds stay).</summary>
    public void Open()
    {
        lock (_lock)
        {
            _closed = false;
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>Holds vCPU <paramref name="vcpu"/> (for a debugger): it parks at its next pass. Does not wait; see <see cref="WaitUntilHeldParked"/>.</summary>
    public void Hold(int vcpu)
    {
        lock (_lock)
        {
            if (!_held[vcpu])
            {
                Volatile.Write(ref _held[vcpu], true);
                _heldCount++;
            }
        }
    }

    /// <summary>Lets a held vCPU go back into KVM_RUN (unless the machine is paused).</summary>
    public void Release(int vcpu)
    {
        lock (_lock)
        {
            if (_held[vcpu])
            {
                Volatile.Write(ref _held[vcpu], false);
                _heldCount--;
            }
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>
    /// Waits until every held vCPU has parked or ended, calling <paramref name="kick"/> until then; false after
    /// <paramref name="timeout"/>.
    /// </summary>
    public bool WaitUntilHeldParked(Action kick, TimeSpan timeout) => WaitUntil(() =>
    {
        for (int i = 0; i < vcpuCount; i++)
        {
            if (_held[i] && !_isParked[i] && !_hasEnded[i])
                return false;
        }
        return true;
    }, kick, timeout);

    private bool WaitUntil(Func<bool> done, Action kick, TimeSpan timeout)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (true)
        {
            kick();
            lock (_lock)
            {
                if (done())
                    return true;
                long left = deadline - Environment.TickCount64;
                if (left <= 0)
                    return false;
                // Woken by each thread that parks; the timeout re-kicks one that was between its check and KVM_RUN.
                Monitor.Wait(_lock, (int)Math.Min(left, 20));
                if (done())
                    return true;
            }
        }
    }

    /// <summary>Wakes parked threads to look at their work queue or the machine's stop.</summary>
    public void Wake()
    {
        lock (_lock)
            Monitor.PulseAll(_lock);
    }

    /// <summary>vCPU <paramref name="vcpu"/>'s thread ended; it no longer counts among those a pause or a hold waits for.</summary>
    public void Leave(int vcpu)
    {
        lock (_lock)
        {
            _ended++;
            _hasEnded[vcpu] = true;
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>
    /// Called by vCPU <paramref name="vcpu"/>'s thread outside KVM_RUN: returns at once while the gate is open for it;
    /// otherwise parks until it opens or <paramref name="stopRequested"/> says the machine stops, running
    /// <paramref name="runWork"/> whenever <paramref name="hasWork"/> says something is queued (outside the gate's lock).
    /// </summary>
    public void ParkWhileClosed(int vcpu, Func<bool> stopRequested, Func<bool> hasWork, Action runWork)
    {
        if (!IsClosedFor(vcpu))
            return;
        lock (_lock)
        {
            if (!IsClosedFor(vcpu))
                return;
            _parked++;
            _isParked[vcpu] = true;
            Monitor.PulseAll(_lock);
        }
        bool parked = true;
        try
        {
            while (true)
            {
                runWork();
                lock (_lock)
                {
                    // Leaving is decided and recorded under one lock: a Hold or Close that comes right after must
                    // not see this thread as still parked while it heads for KVM_RUN.
                    if (!IsClosedFor(vcpu) || stopRequested())
                    {
                        Unpark(vcpu);
                        parked = false;
                        return;
                    }
                    if (!hasWork())
                        Monitor.Wait(_lock, RecheckInterval);
                }
            }
        }
        finally
        {
            if (parked)
            {
                lock (_lock)
                    Unpark(vcpu);
            }
        }
    }

    private void Unpark(int vcpu)
    {
        _parked--;
        _isParked[vcpu] = false;
    }
}
