using Ember.Devices.Virtio.Net;
using Ember.Sys;

namespace Ember.Devices.Tests.Virtio.Net;

/// <summary>
/// Wraps a real backend and counts what the device asks of it, the way a rate limiter would sit between the two.
/// Thread-safe: the device calls it from the test thread and the I/O thread.
/// </summary>
public sealed class CountingNetBackend(INetBackend inner) : INetBackend
{
    private int _receiveCalls;
    private int _framesReceived;

    public int ReceiveCalls => Volatile.Read(ref _receiveCalls);

    public int FramesReceived => Volatile.Read(ref _framesReceived);

    public int ReceiveFrame(Span<byte> buffer)
    {
        Interlocked.Increment(ref _receiveCalls);
        int length = inner.ReceiveFrame(buffer);
        if (length > 0)
            Interlocked.Increment(ref _framesReceived);
        return length;
    }

    public NetSendResult SendFrame(ReadOnlySpan<byte> frame) => inner.SendFrame(frame);

    public bool SetOffload(TapOffload offload) => inner.SetOffload(offload);

    public void Watch(NetReadiness wanted) => inner.Watch(wanted);
}
