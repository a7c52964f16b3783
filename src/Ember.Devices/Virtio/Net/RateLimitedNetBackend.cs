using Ember.Devices.RateLimiting;
using Ember.Sys;

namespace Ember.Devices.Virtio.Net;

/// <summary>
/// Firecracker's rx and tx rate limiters between a virtio-net device and its backend. A frame costs one op and
/// its bytes (the header excluded). A frame to send that the tx limiter refuses goes back as WouldBlock (the
/// device keeps it); a received frame the rx limiter refuses is held here, and the device is told there is
/// nothing to read. Either way the backend stops being watched for that readiness, so a TAP that is readable or
/// writable all along cannot make the loop spin, and the retry timer reports the readiness to the device once
/// the limiter says so.
/// </summary>
/// <remarks>
/// Threat model: the guest decides how much it sends; a refused frame costs one held buffer of at most
/// <see cref="NetHeaderLayout.MaxFrameLength"/> bytes. Lock order: the device's lock, then this one, then the
/// inner backend's; the timer's callback takes none of them while it calls the device.
/// </remarks>
public sealed class RateLimitedNetBackend : INetBackend
{
    private readonly INetBackend _inner;
    private readonly Lock _lock = new();
    private readonly byte[] _held = new byte[NetHeaderLayout.MaxFrameLength];
    private IOneShotTimer? _retryTimer;
    private Action<NetReadiness>? _ready;
    private int _heldLength;
    private NetReadiness _deviceWants;
    private NetReadiness _throttled;

    public RateLimitedNetBackend(INetBackend inner, RateLimiter receive, RateLimiter transmit)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        Receive = receive ?? throw new ArgumentNullException(nameof(receive));
        Transmit = transmit ?? throw new ArgumentNullException(nameof(transmit));
    }

    /// <summary>The limiter on frames from the host to the guest.</summary>
    public RateLimiter Receive { get; }

    /// <summary>The limiter on frames from the guest to the host.</summary>
    public RateLimiter Transmit { get; }

    /// <summary>
    /// Where readiness goes once a limiter allows again (the device's <see cref="VirtioNet.OnBackendReady"/>), and the
    /// timer that calls <see cref="RetryThrottled"/>.
    /// </summary>
    public void Attach(Action<NetReadiness> ready, IOneShotTimer retryTimer)
    {
        lock (_lock)
        {
            _ready = ready ?? throw new ArgumentNullException(nameof(ready));
            _retryTimer = retryTimer ?? throw new ArgumentNullException(nameof(retryTimer));
        }
    }

    public int ReceiveFrame(Span<byte> buffer)
    {
        lock (_lock)
        {
            if (_heldLength == 0)
            {
                int length = _inner.ReceiveFrame(_held);
                if (length <= 0)
                    return 0;
                _heldLength = Math.Min(length, _held.Length);
            }
            if (!Receive.TryConsume(Payload(_heldLength), out var wait))
            {
                Throttle(NetReadiness.Readable, wait);
                return 0;
            }
            int copied = Math.Min(_heldLength, buffer.Length);
            _held.AsSpan(0, copied).CopyTo(buffer);
            _heldLength = 0;
            return copied;
        }
    }

    public NetSendResult SendFrame(ReadOnlySpan<byte> frame)
    {
        lock (_lock)
        {
            if (!Transmit.TryConsume(Payload(frame.Length), out var wait))
            {
                Throttle(NetReadiness.Writable, wait);
                return NetSendResult.WouldBlock;
            }
        }
        return _inner.SendFrame(frame);
    }

    public bool SetOffload(TapOffload offload) => _inner.SetOffload(offload);

    public void Watch(NetReadiness wanted)
    {
        lock (_lock)
        {
            _deviceWants = wanted;
            _inner.Watch(wanted & ~_throttled);
        }
    }

    /// <summary>
    /// The retry timer's callback (also called after a PATCH of the limits): lifts the throttles and tells the
    /// device what it was waiting for; a limiter that still refuses throttles again on the next frame.
    /// </summary>
    public void RetryThrottled()
    {
        NetReadiness report;
        Action<NetReadiness>? ready;
        lock (_lock)
        {
            report = _throttled & (_deviceWants | (_heldLength > 0 ? NetReadiness.Readable : NetReadiness.None));
            _throttled = NetReadiness.None;
            _inner.Watch(_deviceWants);
            ready = _ready;
        }
        if (report != NetReadiness.None)
            ready?.Invoke(report);
    }

    /// <summary>True while frames in the given direction wait for their limiter.</summary>
    public bool IsThrottled(NetReadiness direction)
    {
        lock (_lock)
            return (_throttled & direction) != 0;
    }

    private void Throttle(NetReadiness direction, TimeSpan wait)
    {
        _throttled |= direction;
        _inner.Watch(_deviceWants & ~_throttled);
        _retryTimer?.Arm(wait);
    }

    private static ulong Payload(int frameLength) => frameLength > NetHeaderLayout.Size ? (ulong)(frameLength - NetHeaderLayout.Size) : 0;
}
