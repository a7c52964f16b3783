namespace Ember.Vmm.Diagnostics;

/// <summary>
/// The budget of one log call site that a guest can reach: at most <see cref="LinesPerWindow"/> lines in each
/// window of <see cref="Window"/>, the rest counted, not written (Firecracker's logger/rate_limited idea; DESIGN.md
/// principle 20). The count of lines held back is handed to the next line let through, or to <see cref="TakeSuppressed"/>,
/// so the log says how many similar lines it left out. Fixed windows on a monotonic clock; thread-safe, and
/// allocation-free, so a vCPU's exit path can ask on every exit.
/// </summary>
public sealed class LogRateLimit
{
    public const int DefaultLinesPerWindow = 10;

    public static readonly TimeSpan DefaultWindow = TimeSpan.FromSeconds(1);

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly long _windowTimestamps;
    private bool _windowOpen;
    private long _windowStart;
    private int _linesInWindow;
    private long _suppressed;

    public LogRateLimit(int linesPerWindow = DefaultLinesPerWindow, TimeSpan? window = null, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(linesPerWindow, 1);
        Window = window ?? DefaultWindow;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Window, TimeSpan.Zero, nameof(window));
        _time = time ?? TimeProvider.System;
        LinesPerWindow = linesPerWindow;
        _windowTimestamps = Math.Max(1, (long)(Window.TotalSeconds * _time.TimestampFrequency));
    }

    public int LinesPerWindow { get; }

    public TimeSpan Window { get; }

    /// <summary>
    /// True when a line may be written now; then <paramref name="suppressedBefore"/> is how many were held back since
    /// the last one written (to be reported first). False: the line is counted and must not be written.
    /// </summary>
    public bool TryAcquire(out long suppressedBefore)
    {
        lock (_lock)
        {
            long now = _time.GetTimestamp();
            if (!_windowOpen || now - _windowStart >= _windowTimestamps)
            {
                _windowOpen = true;
                _windowStart = now;
                _linesInWindow = 0;
            }
            if (_linesInWindow < LinesPerWindow)
            {
                _linesInWindow++;
                suppressedBefore = _suppressed;
                _suppressed = 0;
                return true;
            }
            _suppressed++;
            suppressedBefore = 0;
            return false;
        }
    }

    /// <summary>The lines held back and not yet reported, which are then reported (for a last summary).</summary>
    public long TakeSuppressed()
    {
        lock (_lock)
        {
            long suppressed = _suppressed;
            _suppressed = 0;
            return suppressed;
        }
    }
}
