using System.Runtime.InteropServices;
using Ember.Sys.Interop;

namespace Ember.Sys;

/// <summary>
/// A Linux timerfd on CLOCK_MONOTONIC: a timer that an epoll loop waits on like any other fd, so device
/// timers (the PIT, the RTC) need no thread of their own. Non-blocking, so draining it never stalls.
/// </summary>
public sealed unsafe class TimerFd : IDisposable
{
    public TimerFd() =>
        Handle = FileDescriptorHandle.FromResult(Libc.TimerFdCreate(Libc.CLOCK_MONOTONIC, Libc.TFD_CLOEXEC | Libc.TFD_NONBLOCK), "timerfd_create");

    public FileDescriptorHandle Handle { get; }

    /// <summary>
    /// Arms the timer to expire once after <paramref name="delay"/> and then every <paramref name="period"/>
    /// (zero: once only). A zero or negative delay is rounded up to 1 ns, since zero would disarm it.
    /// </summary>
    public void Arm(TimeSpan delay, TimeSpan period = default)
    {
        long delayNs = Math.Max(1, delay.Ticks * 100);
        long periodNs = Math.Max(0, period.Ticks * 100);
        Set(delayNs, periodNs);
    }

    /// <summary>Stops the timer; an expiry already counted stays readable until <see cref="Drain"/>.</summary>
    public void Disarm() => Set(0, 0);

    private void Set(long valueNs, long intervalNs)
    {
        var spec = new Libc.ITimerSpec
        {
            Value = new Libc.TimeSpec { Seconds = valueNs / 1_000_000_000, Nanoseconds = valueNs % 1_000_000_000 },
            Interval = new Libc.TimeSpec { Seconds = intervalNs / 1_000_000_000, Nanoseconds = intervalNs % 1_000_000_000 },
        };
        bool added = false;
        Handle.DangerousAddRef(ref added);
        try
        {
            // Safe because spec is a local that outlives the call.
            if (Libc.TimerFdSetTime(Handle.Fd, 0, &spec, null) != 0)
                throw SystemCallException.FromLastError("timerfd_settime");
        }
        finally
        {
            if (added) Handle.DangerousRelease();
        }
    }

    /// <summary>How many times the timer expired since the last drain; 0 when it has not (non-blocking).</summary>
    public ulong Drain()
    {
        bool added = false;
        Handle.DangerousAddRef(ref added);
        try
        {
            ulong expirations = 0;
            // Safe because the buffer is a local of exactly the 8 bytes timerfd produces.
            if (Libc.Read(Handle.Fd, &expirations, sizeof(ulong)) == sizeof(ulong))
                return expirations;
            int errno = Marshal.GetLastPInvokeError();
            return errno == (int)Errno.EAGAIN ? 0UL : throw new SystemCallException("timerfd read", errno);
        }
        finally
        {
            if (added) Handle.DangerousRelease();
        }
    }

    public void Dispose() => Handle.Dispose();
}
