using Ember.Sys;

namespace Ember.Devices.Virtio.Socket;

/// <summary>
/// Guest payload a host socket has not taken yet, in order: a ring of at most <see cref="Capacity"/> bytes, allocated
/// only while it holds something (most writes go straight to the socket). The device's credit accounting keeps the
/// guest from sending more than the capacity, and a guest that tries anyway is reset rather than buffered.
/// </summary>
public sealed class VsockHostBoundBuffer
{
    private byte[]? _bytes;
    private int _start;

    public VsockHostBoundBuffer(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        Capacity = capacity;
    }

    public int Capacity { get; }

    public int Count { get; private set; }

    public bool IsEmpty => Count == 0;

    /// <summary>Keeps all of <paramref name="data"/>, or nothing and false when it does not fit.</summary>
    public bool TryAppend(ReadOnlySpan<byte> data)
    {
        if (data.Length > Capacity - Count)
            return false;
        if (data.IsEmpty)
            return true;
        _bytes ??= new byte[Capacity];
        int end = (_start + Count) % Capacity;
        int first = Math.Min(data.Length, Capacity - end);
        data[..first].CopyTo(_bytes.AsSpan(end));
        data[first..].CopyTo(_bytes);
        Count += data.Length;
        return true;
    }

    /// <summary>
    /// Writes as much as <paramref name="stream"/> takes now and returns how many bytes went; <paramref name="closed"/>
    /// says the host end is gone (what is left can never be delivered).
    /// </summary>
    public int Flush(IVsockHostStream stream, out bool closed)
    {
        ArgumentNullException.ThrowIfNull(stream);
        closed = false;
        int total = 0;
        while (Count > 0)
        {
            int contiguous = Math.Min(Count, Capacity - _start);
            var result = stream.Write(_bytes.AsSpan(_start, contiguous));
            if (result.Status == SocketIoStatus.Closed)
                closed = true;
            if (result.Status != SocketIoStatus.Transferred || result.Count <= 0)
                break;
            int taken = Math.Min(result.Count, contiguous);
            _start = (_start + taken) % Capacity;
            Count -= taken;
            total += taken;
        }
        if (Count == 0)
        {
            // Idle connections hold no buffer.
            _bytes = null;
            _start = 0;
        }
        return total;
    }
}
