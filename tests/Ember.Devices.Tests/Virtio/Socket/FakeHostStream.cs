using Ember.Devices.Virtio.Socket;
using Ember.Sys;

namespace Ember.Devices.Tests.Virtio.Socket;

/// <summary>
/// A host stream in memory, with one-shot readiness as the Unix backend has it: <see cref="Raise"/> reports what the
/// device asked for and what is true, once, and the device has to ask again. Records what the device did to it.
/// </summary>
public sealed class FakeHostStream : IVsockHostStream
{
    private readonly Queue<byte> _incoming = new();
    private readonly List<byte> _written = [];
    private readonly IVsockHostEvents? _events;

    public FakeHostStream(IVsockHostEvents? events) => _events = events;

    /// <summary>The host program ended its sending: reads give Closed once what it sent is read.</summary>
    public bool EndOfStream { get; set; }

    /// <summary>The host program is gone: writes give Closed, and a hang-up is reported.</summary>
    public bool Gone { get; set; }

    /// <summary>How many more bytes writes take before they would block.</summary>
    public int WriteRoom { get; set; } = int.MaxValue;

    public VsockStreamEvents Requested { get; private set; }

    public bool Started { get; private set; }

    public bool Disposed { get; private set; }

    public bool WriteShut { get; private set; }

    public int ReadCalls { get; private set; }

    public byte[] Written => [.. _written];

    public int Pending => _incoming.Count;

    /// <summary>The host program writes <paramref name="bytes"/> (nothing is reported until <see cref="Raise"/>).</summary>
    public void HostSends(ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
            _incoming.Enqueue(b);
    }

    public byte[] TakeWritten()
    {
        var bytes = _written.ToArray();
        _written.Clear();
        return bytes;
    }

    /// <summary>Reports readiness the way the one-shot registration would: what was asked for and is true, plus a hang-up; false when nothing is reported.</summary>
    public bool Raise()
    {
        if (!Started || Disposed)
            return false;
        var ready = VsockStreamEvents.None;
        if ((Requested & VsockStreamEvents.Readable) != 0 && (_incoming.Count > 0 || EndOfStream || Gone))
            ready |= VsockStreamEvents.Readable;
        if ((Requested & VsockStreamEvents.Writable) != 0 && (WriteRoom > 0 || Gone))
            ready |= VsockStreamEvents.Writable;
        if (Gone)
            ready |= VsockStreamEvents.HangUp;
        if (ready == VsockStreamEvents.None)
            return false;
        Requested = VsockStreamEvents.None;
        _events!.StreamReady(this, ready);
        return true;
    }

    public SocketIoResult Read(Span<byte> buffer)
    {
        ReadCalls++;
        if (_incoming.Count == 0)
            return EndOfStream || Gone ? SocketIoResult.Closed : SocketIoResult.WouldBlock;
        int count = Math.Min(buffer.Length, _incoming.Count);
        for (int i = 0; i < count; i++)
            buffer[i] = _incoming.Dequeue();
        return SocketIoResult.Transferred(count);
    }

    public SocketIoResult Write(ReadOnlySpan<byte> data)
    {
        if (Gone || WriteShut)
            return SocketIoResult.Closed;
        int count = Math.Min(data.Length, WriteRoom);
        if (count == 0)
            return SocketIoResult.WouldBlock;
        if (WriteRoom != int.MaxValue)
            WriteRoom -= count;
        _written.AddRange(data[..count]);
        return SocketIoResult.Transferred(count);
    }

    public void ShutdownWrite() => WriteShut = true;

    public void RequestEvents(VsockStreamEvents events) => Requested = events;

    public void Start() => Started = true;

    public void Dispose() => Disposed = true;
}
