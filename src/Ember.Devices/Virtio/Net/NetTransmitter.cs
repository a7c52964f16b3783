using Ember.Devices.Virtio.Queues;
using Ember.Memory;

namespace Ember.Devices.Virtio.Net;

/// <summary>
/// virtio-net's transmit side: each chain of the transmit queue is one frame, header first (virtio 1.2 §5.1.6.2),
/// gathered into one staging buffer and handed to the backend. Runs under the device lock.
/// </summary>
/// <remarks>
/// A chain is copied out of guest memory once, checked there (length from 26 bytes, a header and an Ethernet header, to
/// <see cref="NetHeaderLayout.MaxFrameLength"/>; only the header flags and GSO types the driver negotiated), and the copy
/// is what the backend gets, so the driver rewriting its buffers afterwards changes nothing. A frame that fails a check
/// goes back with used length 0 and is counted. When the backend cannot take a frame now it stays here (the one pending
/// frame) with its chain, and the run ends until the backend is writable. A run answers at most
/// <see cref="FramesPerRun"/> chains, so that a guest that keeps the queue full cannot keep the I/O thread from receiving.
/// </remarks>
internal sealed class NetTransmitter
{
    public const int FramesPerRun = 256;

    private readonly byte[] _frame = new byte[NetHeaderLayout.MaxFrameLength];
    private int _frameLength;
    private ushort _head;
    private bool _pending;
    private bool _checksum;
    private bool _tso4;
    private bool _tso6;

    public long FramesSent { get; private set; }

    /// <summary>Frames dropped: malformed chains, lengths out of bounds, headers with what was not negotiated, or the backend refused.</summary>
    public long FramesDropped { get; private set; }

    public bool HasPendingFrame => _pending;

    public void Start(ulong features)
    {
        Stop();
        _checksum = (features & NetFeature.Checksum) != 0;
        // HOST_TSO4/6 require CSUM (virtio 1.2 §5.1.3.1); a driver that took one without the other gets neither.
        _tso4 = _checksum && (features & NetFeature.HostTso4) != 0;
        _tso6 = _checksum && (features & NetFeature.HostTso6) != 0;
    }

    public void Stop()
    {
        _pending = false;
        _frameLength = 0;
    }

    /// <summary>
    /// Sends frames until the queue is empty, the backend is full, or the run's budget is spent. Returns whether the
    /// device should wait for the backend to be writable and run again (a frame is pending, or the budget ran out).
    /// </summary>
    public bool Run(IVirtqueue queue, IGuestMemory memory, INetBackend backend)
    {
        int handled = 0;
        while (!queue.IsBroken)
        {
            if (_pending)
            {
                var result = backend.SendFrame(_frame.AsSpan(0, _frameLength));
                if (result == NetSendResult.WouldBlock)
                    return true;
                if (result == NetSendResult.Sent)
                    FramesSent++;
                else
                    FramesDropped++;
                _pending = false;
                queue.AddUsed(_head, 0);
                if (++handled >= FramesPerRun)
                    return true;
            }
            if (!queue.TryPop(out var chain))
            {
                if (queue.IsBroken || !queue.EnableNotification())
                    return false;
                continue;
            }
            if (!TryGather(chain, memory))
            {
                FramesDropped++;
                queue.AddUsed(chain.HeadIndex, 0);
                if (++handled >= FramesPerRun)
                    return true;
                continue;
            }
            _pending = true;
            _head = chain.HeadIndex;
        }
        return false;
    }

    /// <summary>Copies the chain's readable part into the staging buffer and checks it there.</summary>
    private bool TryGather(DescriptorChain chain, IGuestMemory memory)
    {
        if (chain.IsMalformed)
            return false;
        uint length = chain.ReadableLength;
        if (length < NetHeaderLayout.Size + NetHeaderLayout.EthernetHeaderSize || length > NetHeaderLayout.MaxFrameLength)
            return false;
        var frame = _frame.AsSpan(0, (int)length);
        if (!new DescriptorChainReader(chain, memory).TryReadExact(frame) || !HeaderAllowed(frame))
            return false;
        // num_buffers means nothing on transmit; the driver sets it to 0 (virtio 1.2 §5.1.6.2.1).
        frame[NetHeaderLayout.NumBuffers] = 0;
        frame[NetHeaderLayout.NumBuffers + 1] = 0;
        _frameLength = (int)length;
        return true;
    }

    /// <summary>
    /// Only what the driver negotiated reaches the host kernel: NEEDS_CSUM with CSUM, TCPv4/TCPv6 segmentation with
    /// HOST_TSO4/6; no DATA_VALID or RSC_INFO (the driver must not set them), no UFO, USO or ECN (not offered).
    /// </summary>
    private bool HeaderAllowed(ReadOnlySpan<byte> header)
    {
        byte flags = header[NetHeaderLayout.Flags];
        if ((flags & ~NetHeaderLayout.FlagNeedsChecksum) != 0 || (flags != 0 && !_checksum))
            return false;
        return header[NetHeaderLayout.GsoType] switch
        {
            NetHeaderLayout.GsoNone => true,
            NetHeaderLayout.GsoTcpV4 => _tso4,
            NetHeaderLayout.GsoTcpV6 => _tso6,
            _ => false,
        };
    }
}
