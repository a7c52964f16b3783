using Ember.Devices.Bus;
using Ember.Devices.Timers;
using Ember.Sys;

namespace Ember.Vmm.Interrupts;

/// <summary>
/// The user-space <see cref="Pit8254"/> as the guest sees it on ports 0x40–0x43, plus the host timer
/// (on the machine's timer loop) that makes counter 0 tick: the timer is armed for <see cref="Pit8254.NextEventDelay"/>, calls
/// <see cref="Pit8254.OnTimer"/> when it fires, and is re-armed after every guest write (a new control
/// word or count moves the next edge). The PIT derives its counts from a clock, so a late timer
/// costs no drift, only a coalesced edge.
/// </summary>
internal sealed class TimedPit : IBusDevice, IDisposable
{
    private readonly Lock _armLock = new();
    private readonly LoopTimer _timer;
    private bool _started;
    private long _timerExpiries;

    public TimedPit(Pit8254 pit, EventLoop timers)
    {
        Pit = pit;
        _timer = new LoopTimer(timers, OnTimer);
    }

    public Pit8254 Pit { get; }

    /// <summary>Host timer expiries so far (each one brings IRQ0 up to date).</summary>
    public long TimerExpiries => Interlocked.Read(ref _timerExpiries);

    /// <summary>Starts ticking (the machine is about to run); until then only guest writes move the PIT.</summary>
    public void Start()
    {
        lock (_armLock)
            _started = true;
        Rearm();
    }

    public void Read(ulong offset, Span<byte> data) => Pit.Read(offset, data);

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        Pit.Write(offset, data);
        Rearm();
    }

    private void OnTimer()
    {
        Interlocked.Increment(ref _timerExpiries);
        Pit.OnTimer();
        Rearm();
    }

    /// <summary>
    /// Arms the timer for the PIT's next edge. Reading the deadline and arming happen under one lock, so
    /// whichever of the guest write and the timer callback re-arms last uses the newest programming.
    /// </summary>
    private void Rearm()
    {
        lock (_armLock)
        {
            if (!_started)
                return;
            if (Pit.NextEventDelay is TimeSpan delay)
                _timer.Arm(delay);
            else
                _timer.Cancel();
        }
    }

    public void Dispose() => _timer.Dispose();
}
