using Ember.Devices.RateLimiting;
using Ember.Devices.Tests.Fakes;
using Ember.Devices.Virtio.Net;
using Xunit;

namespace Ember.Devices.Tests.Virtio.Net;

/// <summary>
/// The rx and tx limiters between virtio-net and its backend, on a manual clock: a refused frame is kept (tx) or
/// held (rx), the backend stops being watched for that direction so a ready TAP cannot spin the loop, and the
/// retry timer brings the readiness back to the device when the limiter allows.
/// </summary>
public sealed class RateLimitedNetBackendTests
{
    private const int Header = NetHeaderLayout.Size;
    private readonly FakeNetBackend _inner = new();
    private readonly ManualTimeProvider _clock = new();
    private readonly RecordingOneShotTimer _timer = new();
    private readonly List<NetReadiness> _reported = [];

    private RateLimitedNetBackend Limited(TokenBucketSettings? rx, TokenBucketSettings? tx)
    {
        var backend = new RateLimitedNetBackend(_inner, new RateLimiter(new RateLimiterSettings(rx, null), _clock), new RateLimiter(new RateLimiterSettings(tx, null), _clock));
        backend.Attach(_reported.Add, _timer);
        return backend;
    }

    private static byte[] Frame(int payload, byte fill = 0xAB) => Enumerable.Repeat(fill, Header + payload).ToArray();

    [Fact]
    public void ASendOverTheTxLimitWouldBlockStopsWatchingWritableAndComesBackOnTheTimer()
    {
        // 1000 payload bytes per second.
        var backend = Limited(rx: null, tx: new TokenBucketSettings(1000, 1000));
        backend.Watch(NetReadiness.Readable | NetReadiness.Writable);

        Assert.Equal(NetSendResult.Sent, backend.SendFrame(Frame(1000)));
        Assert.Equal(NetSendResult.WouldBlock, backend.SendFrame(Frame(500)));

        Assert.Single(_inner.Sent);
        Assert.True(backend.IsThrottled(NetReadiness.Writable));
        // Writable is no longer asked of the TAP (it would report it at once, for ever); Readable still is.
        Assert.Equal(NetReadiness.Readable, _inner.Watching);
        Assert.Equal([TimeSpan.FromMilliseconds(500)], _timer.Armed);
        // The device asks for Writable again while throttled: still not passed on.
        backend.Watch(NetReadiness.Readable | NetReadiness.Writable);
        Assert.Equal(NetReadiness.Readable, _inner.Watching);

        _clock.Advance(TimeSpan.FromMilliseconds(500));
        backend.RetryThrottled();

        Assert.Equal([NetReadiness.Writable], _reported);
        Assert.Equal(NetReadiness.Readable | NetReadiness.Writable, _inner.Watching);
        Assert.Equal(NetSendResult.Sent, backend.SendFrame(Frame(500)));
        Assert.Equal(2, _inner.Sent.Count);
    }

    [Fact]
    public void AReceivedFrameOverTheRxLimitIsHeldNotDroppedAndDeliveredLater()
    {
        var backend = Limited(rx: new TokenBucketSettings(100, 1000), tx: null);
        backend.Watch(NetReadiness.Readable);
        _inner.Incoming.Enqueue(Frame(100, 1));
        _inner.Incoming.Enqueue(Frame(100, 2));
        var buffer = new byte[NetHeaderLayout.MaxFrameLength];

        Assert.Equal(Header + 100, backend.ReceiveFrame(buffer));
        Assert.Equal(1, buffer[Header]);
        Assert.Equal(0, backend.ReceiveFrame(buffer));

        Assert.Empty(_inner.Incoming);                 // the second frame was taken from the TAP ...
        Assert.Equal(NetReadiness.None, _inner.Watching);   // ... and the TAP is not watched while it waits
        Assert.Equal(TimeSpan.FromSeconds(1), _timer.Armed[^1]);
        // Asking again before the time gives nothing and reads nothing more.
        Assert.Equal(0, backend.ReceiveFrame(buffer));
        Assert.Equal(2, _inner.ReceiveCalls);

        _clock.Advance(TimeSpan.FromSeconds(1));
        backend.RetryThrottled();

        Assert.Equal([NetReadiness.Readable], _reported);
        Assert.Equal(Header + 100, backend.ReceiveFrame(buffer));
        Assert.Equal(2, buffer[Header]);
    }

    [Fact]
    public void PatchingTheLimitAwayLetsTheHeldFrameThrough()
    {
        var backend = Limited(rx: null, tx: new TokenBucketSettings(10, 60_000));
        backend.Watch(NetReadiness.Writable);
        Assert.Equal(NetSendResult.Sent, backend.SendFrame(Frame(10)));
        Assert.Equal(NetSendResult.WouldBlock, backend.SendFrame(Frame(10)));

        backend.Transmit.Patch(new RateLimiterSettings(new TokenBucketSettings(0, 0), null));
        backend.RetryThrottled();

        Assert.Equal([NetReadiness.Writable], _reported);
        for (int i = 0; i < 100; i++)
            Assert.Equal(NetSendResult.Sent, backend.SendFrame(Frame(1000)));
    }
}
