namespace Ember.Devices.RateLimiting;

/// <summary>
/// A token bucket with Firecracker's semantics, on a monotonic clock. It starts full, with the one-time burst
/// on top; spending takes from the burst first. Tokens come back at size / refill_time, never above the size.
/// A request larger than the whole bucket cannot ever fit, so it is let through when the bucket is full and
/// leaves the bucket in debt: the next requests wait until the debt is repaid, which keeps the long-run rate
/// at the configured one. Not thread-safe: <see cref="RateLimiter"/> locks around it.
/// </summary>
public sealed class TokenBucket
{
    private readonly TimeProvider _time;
    private readonly ulong _size;
    private readonly ulong _refillTimeMs;
    private ulong _burst;
    // Tokens now, possibly negative after an oversized request; kept in units of 1/1000 token × refill-time ms
    // would be exact, but a double is exact enough for counts below 2^53 and keeps the arithmetic plain.
    private double _budget;
    private long _lastRefill;

    public TokenBucket(TokenBucketSettings settings, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.IsUnlimited)
            throw new ArgumentException("an unlimited bucket (size or refill time 0) is no bucket; leave it out", nameof(settings));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _size = settings.Size;
        _refillTimeMs = settings.RefillTimeMs;
        _burst = settings.OneTimeBurst;
        _budget = settings.Size;
        _lastRefill = time.GetTimestamp();
    }

    public ulong Size => _size;

    /// <summary>Tokens left in the one-time burst.</summary>
    public ulong BurstLeft => _burst;

    /// <summary>Tokens in the regular bucket now (after refilling to the present); negative while in debt.</summary>
    public double Budget
    {
        get
        {
            Refill();
            return _budget;
        }
    }

    /// <summary>Whether <paramref name="tokens"/> could be taken now, without taking them.</summary>
    public bool CanTake(ulong tokens)
    {
        Refill();
        if (tokens <= _burst)
            return true;
        double fromBudget = tokens - _burst;
        // An oversized request goes through only on a full bucket (see the class comment).
        return fromBudget <= _size ? _budget >= fromBudget : _budget >= _size;
    }

    /// <summary>Takes <paramref name="tokens"/>; call only after <see cref="CanTake"/> said yes.</summary>
    public void Take(ulong tokens)
    {
        ulong fromBurst = Math.Min(tokens, _burst);
        _burst -= fromBurst;
        _budget -= tokens - fromBurst;
    }

    /// <summary>How long until <paramref name="tokens"/> could be taken (zero if now).</summary>
    public TimeSpan TimeUntil(ulong tokens)
    {
        if (CanTake(tokens))
            return TimeSpan.Zero;
        double needed = Math.Min((double)(tokens - _burst), _size) - _budget;
        double ms = needed * _refillTimeMs / _size;
        // Round up to the next microsecond so a timer set for this never wakes a hair too early.
        return TimeSpan.FromTicks((long)Math.Ceiling(ms * TimeSpan.TicksPerMillisecond / 10) * 10);
    }

    private void Refill()
    {
        long now = _time.GetTimestamp();
        double elapsedMs = (now - _lastRefill) * 1000.0 / _time.TimestampFrequency;
        _lastRefill = now;
        if (elapsedMs <= 0)
            return;
        _budget = Math.Min(_size, _budget + elapsedMs * _size / _refillTimeMs);
    }
}
