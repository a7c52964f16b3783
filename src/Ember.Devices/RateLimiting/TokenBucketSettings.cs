namespace Ember.Devices.RateLimiting;

/// <summary>
/// One of Firecracker's token buckets: <paramref name="Size"/> tokens, refilled from empty to full in
/// <paramref name="RefillTimeMs"/> milliseconds at a constant rate, plus <paramref name="OneTimeBurst"/> tokens
/// spent first and never refilled. A size or refill time of 0 means no limit (Firecracker's rule).
/// </summary>
public sealed record TokenBucketSettings(ulong Size, ulong RefillTimeMs, ulong OneTimeBurst = 0)
{
    /// <summary>True when this bucket limits nothing (size or refill time 0).</summary>
    public bool IsUnlimited => Size == 0 || RefillTimeMs == 0;
}
