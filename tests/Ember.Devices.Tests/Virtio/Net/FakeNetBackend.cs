using Ember.Devices.Virtio.Net;
using Ember.Sys;

namespace Ember.Devices.Tests.Virtio.Net;

/// <summary>A network backend for one device's unit tests: frames to hand over, frames it took, and what it was asked.</summary>
public sealed class FakeNetBackend : INetBackend
{
    /// <summary>Frames (header first) the "host" has for the guest, handed out in order.</summary>
    public Queue<byte[]> Incoming { get; } = new();

    /// <summary>Frames the backend took, in order.</summary>
    public List<byte[]> Sent { get; } = [];

    /// <summary>What the next sends answer (Sent once this runs out).</summary>
    public Queue<NetSendResult> SendResults { get; } = new();

    /// <summary>Every SetOffload call, in order.</summary>
    public List<TapOffload> Offloads { get; } = [];

    public bool RefuseOffloads { get; set; }

    public NetReadiness Watching { get; private set; }

    public int ReceiveCalls { get; private set; }

    public int SendCalls { get; private set; }

    public int ReceiveFrame(Span<byte> buffer)
    {
        ReceiveCalls++;
        if (!Incoming.TryDequeue(out var frame))
            return 0;
        int length = Math.Min(frame.Length, buffer.Length);
        frame.AsSpan(0, length).CopyTo(buffer);
        return length;
    }

    public NetSendResult SendFrame(ReadOnlySpan<byte> frame)
    {
        SendCalls++;
        var result = SendResults.TryDequeue(out var next) ? next : NetSendResult.Sent;
        if (result == NetSendResult.Sent)
            Sent.Add(frame.ToArray());
        return result;
    }

    public bool SetOffload(TapOffload offload)
    {
        Offloads.Add(offload);
        return !RefuseOffloads || offload == TapOffload.None;
    }

    public void Watch(NetReadiness wanted) => Watching = wanted;
}
