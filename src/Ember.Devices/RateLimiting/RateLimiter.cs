namespace Ember.Devices.RateLimiting;

/// <summary>
/// Firecracker's rate limiter: a request costs one operation and its bytes, and goes through only when both
/// buckets can pay, so a refused request takes nothing from either. A device asks before it serves a request
/// and, when refused, waits for <see cref="TryConsume"/>'s retry time on a timer instead of spinning.
/// Thread-safe; <see cref="Update"/> (PATCH at run time) replaces the buckets, which start full again.
/// </summary>
public sealed class RateLimiter
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private TokenBucket? _bandwidth;
    private TokenBucket? _ops;
    private RateLimiterSettings _settings = new(null, null);
    private long _throttled;
    // True while neither bucket exists, so an unlimited disk (the default) answers without taking the lock. Written
    // under the lock whenever the buckets change; a request that reads it just before a PATCH adds a bucket goes
    // through unmetered, as it would had it taken the lock first.
    private volatile bool _unlimited;

    public RateLimiter(RateLimiterSettings? settings = null, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        Update(settings ?? new RateLimiterSettings(null, null));
    }

    /// <summary>The settings in force.</summary>
    public RateLimiterSettings Settings
    {
        get
        {
            lock (_lock)
                return _settings;
        }
    }

    /// <summary>Requests refused for now (each retry that is refused again counts again).</summary>
    public long ThrottledCount => Interlocked.Read(ref _throttled);

    /// <summary>
    /// Pays for one operation of <paramref name="bytes"/> bytes, or says how long to wait before asking again.
    /// </summary>
    public bool TryConsume(ulong bytes, out TimeSpan retryAfter)
    {
        if (_unlimited)
        {
            retryAfter = TimeSpan.Zero;
            return true;
        }
        lock (_lock)
        {
            bool bytesFit = _bandwidth is null || bytes == 0 || _bandwidth.CanTake(bytes);
            bool opFits = _ops is null || _ops.CanTake(1);
            if (bytesFit && opFits)
            {
                if (bytes != 0)
                    _bandwidth?.Take(bytes);
                _ops?.Take(1);
                retryAfter = TimeSpan.Zero;
                return true;
            }
            var waitBytes = bytesFit || _bandwidth is null ? TimeSpan.Zero : _bandwidth.TimeUntil(bytes);
            var waitOp = opFits || _ops is null ? TimeSpan.Zero : _ops.TimeUntil(1);
            retryAfter = waitBytes > waitOp ? waitBytes : waitOp;
            // A bucket that cannot say when (it never refuses then) still must not make the caller spin.
            if (retryAfter <= TimeSpan.Zero)
                retryAfter = TimeSpan.FromMilliseconds(1);
            Interlocked.Increment(ref _throttled);
            return false;
        }
    }

    /// <summary>Replaces both buckets (a null bucket, or a size or refill time of 0, limits nothing).</summary>
    public void Update(RateLimiterSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        lock (_lock)
        {
            _settings = settings;
            _bandwidth = NewBucket(settings.Bandwidth);
            _ops = NewBucket(settings.Ops);
            _unlimited = _bandwidth is null && _ops is null;
        }
    }

    /// <summary>
    /// Firecracker's PATCH: a bucket given replaces that bucket (full again; size or refill time 0 removes the
    /// limit); a bucket left out (null) keeps its state.
    /// </summary>
    public void Patch(RateLimiterSettings changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        lock (_lock)
        {
            if (changes.Bandwidth is { } bandwidth)
                _bandwidth = NewBucket(bandwidth);
            if (changes.Ops is { } ops)
                _ops = NewBucket(ops);
            _settings = new RateLimiterSettings(changes.Bandwidth ?? _settings.Bandwidth, changes.Ops ?? _settings.Ops);
            _unlimited = _bandwidth is null && _ops is null;
        }
    }

    private TokenBucket? NewBucket(TokenBucketSettings? settings) =>
        settings is { IsUnlimited: false } ? new TokenBucket(settings, _time) : null;
}
