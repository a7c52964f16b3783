using Ember.Devices.RateLimiting;

namespace Ember.Devices.Legacy;

/// <summary>
/// Firecracker's serial rate limiter, between a UART and its sink: one token bucket of bytes. What the bucket
/// can pay for goes on to the inner sink; the rest is dropped without a word to the guest (a UART's transmitter
/// never pushes back) and counted in <see cref="DroppedBytes"/> (Firecracker's
/// <c>uart.rate_limiter_dropped_bytes</c>). A write longer than what is left is cut: its head goes out, its
/// tail is dropped, so the sink never gets more than the bucket allows.
/// </summary>
/// <remarks>
/// Threat model: the guest decides how much it writes to the THR; this caps what reaches the host's file or
/// terminal and holds nothing back (nothing is buffered, so a flood costs no memory). Called on vCPU threads,
/// never throws; the inner sink is called outside this lock, so a slow sink does not serialise the bucket.
/// </remarks>
public sealed class RateLimitedSerialOutput : ISerialOutput
{
    private readonly ISerialOutput _inner;
    private readonly TokenBucket _bucket;
    private readonly Lock _lock = new();
    private long _droppedBytes;

    /// <param name="inner">Where the bytes the bucket allows go.</param>
    /// <param name="bandwidth">The bucket, in bytes; it must limit something (size and refill time above 0).</param>
    /// <param name="time">The clock the bucket refills by (the system's monotonic clock by default).</param>
    public RateLimitedSerialOutput(ISerialOutput inner, TokenBucketSettings bandwidth, TimeProvider? time = null)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        ArgumentNullException.ThrowIfNull(bandwidth);
        Bandwidth = bandwidth;
        _bucket = new TokenBucket(bandwidth, time ?? TimeProvider.System);
    }

    /// <summary>The bucket in force.</summary>
    public TokenBucketSettings Bandwidth { get; }

    /// <summary>Bytes the guest wrote that the bucket could not pay for.</summary>
    public long DroppedBytes => Interlocked.Read(ref _droppedBytes);

    public void Write(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
            return;
        int allowed;
        lock (_lock)
        {
            allowed = (int)Math.Min((ulong)data.Length, Available());
            if (allowed > 0)
                _bucket.Take((ulong)allowed);
        }
        if (allowed < data.Length)
            Interlocked.Add(ref _droppedBytes, data.Length - allowed);
        if (allowed > 0)
            _inner.Write(data[..allowed]);
    }

    /// <summary>Whole tokens the bucket holds now: the burst left plus the regular budget (never in debt here: nothing takes more than there is).</summary>
    private ulong Available()
    {
        double budget = _bucket.Budget;
        return _bucket.BurstLeft + (budget >= 1 ? (ulong)Math.Floor(budget) : 0);
    }
}
