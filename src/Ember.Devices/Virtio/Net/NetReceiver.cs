using System.Buffers.Binary;
using Ember.Devices.Virtio.Queues;
using Ember.Memory;

namespace Ember.Devices.Virtio.Net;

/// <summary>
/// virtio-net's receive side: frames from the backend into the driver's receive chains (virtio 1.2 §5.1.6.4), one at a
/// time through one staging buffer. Runs under the device lock.
/// </summary>
/// <remarks>
/// A frame is taken from the backend only once at least one receive chain is in hand, and it stays here (the one
/// pending frame) until there is room for it: without MRG_RXBUF the next chain must hold it whole; with it, it is spread
/// over as many chains as it needs and all of them are published at once, num_buffers saying how many. A frame is
/// dropped only when it can never fit: bigger than the chain in hand without MRG_RXBUF (the driver's buffers are smaller
/// than it promised), or bigger than every chain the ring can hold with it. Chains taken from the ring and not yet
/// used stay held, at most the queue size of them.
/// </remarks>
internal sealed class NetReceiver
{
    private readonly byte[] _frame = new byte[NetHeaderLayout.MaxFrameLength];
    private readonly List<DescriptorChain> _held = [];
    private UsedElement[] _used = [];
    private int _frameLength;
    private bool _mergeable;
    private bool _guestChecksum;
    private bool _tso4;
    private bool _tso6;

    public long FramesReceived { get; private set; }

    /// <summary>Frames that could never fit the driver's buffers, or that carried an offload the driver did not accept.</summary>
    public long FramesDropped { get; private set; }

    /// <summary>Receive chains given back unused: malformed, with device-readable parts, or too short for the header.</summary>
    public long ChainsRejected { get; private set; }

    public bool HasPendingFrame => _frameLength > 0;

    /// <param name="offload">The offloads the backend was set to: what frames it may hand over unfinished.</param>
    public void Start(ulong features, ushort queueSize, Ember.Sys.TapOffload offload)
    {
        Stop();
        _mergeable = (features & NetFeature.MergeableReceiveBuffers) != 0;
        _guestChecksum = (features & NetFeature.GuestChecksum) != 0;
        _tso4 = offload.HasFlag(Ember.Sys.TapOffload.Tso4);
        _tso6 = offload.HasFlag(Ember.Sys.TapOffload.Tso6);
        _used = new UsedElement[queueSize];
    }

    /// <summary>Forgets the held chains and the pending frame (the driver reset the device).</summary>
    public void Stop()
    {
        _held.Clear();
        _frameLength = 0;
    }

    /// <summary>
    /// Moves frames into the driver's buffers until the backend has none or the buffers run out. Returns whether the
    /// device should go on watching the backend for frames: false while a frame waits for buffers, or when there are no
    /// buffers to take one into; the driver's next notification on this queue brings it back.
    /// </summary>
    public bool Run(IVirtqueue queue, IGuestMemory memory, INetBackend backend)
    {
        while (!queue.IsBroken)
        {
            if (_frameLength == 0)
            {
                if (_held.Count == 0 && !TryHoldAnother(queue))
                    return false;
                int length = backend.ReceiveFrame(_frame);
                if (length <= 0)
                    return true;
                if (length < NetHeaderLayout.Size || !AcceptHeader())
                {
                    FramesDropped++;
                    continue;
                }
                _frameLength = Math.Min(length, _frame.Length);
            }
            if (!TryDeliver(queue, memory))
                return false;
        }
        return false;
    }

    /// <summary>
    /// The header as the driver may see it: the TAP was set to the driver's offloads, but a TSO frame it did not accept
    /// is dropped rather than handed over; without GUEST_CSUM flags must be zero (virtio 1.2 §5.1.6.4.1).
    /// </summary>
    private bool AcceptHeader()
    {
        byte gso = _frame[NetHeaderLayout.GsoType];
        bool gsoAllowed = gso switch
        {
            NetHeaderLayout.GsoNone => true,
            NetHeaderLayout.GsoTcpV4 => _tso4,
            NetHeaderLayout.GsoTcpV6 => _tso6,
            _ => false,
        };
        if (!gsoAllowed)
            return false;
        _frame[NetHeaderLayout.Flags] = _guestChecksum
            ? (byte)(_frame[NetHeaderLayout.Flags] & (NetHeaderLayout.FlagNeedsChecksum | NetHeaderLayout.FlagDataValid))
            : (byte)0;
        return true;
    }

    /// <summary>Delivers the pending frame or drops it for good; false when it must wait for more buffers.</summary>
    private bool TryDeliver(IVirtqueue queue, IGuestMemory memory)
    {
        if (_held.Count == 0 && !TryHoldAnother(queue))
            return false;
        var frame = _frame.AsSpan(0, _frameLength);
        if (!_mergeable)
        {
            var chain = _held[0];
            if (chain.WritableLength < (uint)frame.Length)
            {
                // Without MRG_RXBUF a frame goes in one chain; this one is smaller than the driver promised. The chain
                // stays for the next frame.
                FramesDropped++;
                _frameLength = 0;
                return true;
            }
            BinaryPrimitives.WriteUInt16LittleEndian(frame[NetHeaderLayout.NumBuffers..], 1);
            _held.RemoveAt(0);
            queue.AddUsed(chain.HeadIndex, Write(chain, memory, frame));
            FramesReceived++;
            _frameLength = 0;
            return true;
        }

        ulong room = 0;
        int needed = 0;
        while (room < (ulong)frame.Length)
        {
            if (needed == _held.Count)
            {
                if (_held.Count >= queue.Size)
                {
                    // Every chain the ring can hold is here and the frame still does not fit: it never will.
                    FramesDropped++;
                    _frameLength = 0;
                    return true;
                }
                if (!TryHoldAnother(queue))
                    return false;
            }
            room += _held[needed++].WritableLength;
        }
        BinaryPrimitives.WriteUInt16LittleEndian(frame[NetHeaderLayout.NumBuffers..], (ushort)needed);
        int offset = 0;
        for (int i = 0; i < needed; i++)
        {
            var chain = _held[i];
            int part = (int)Math.Min(chain.WritableLength, (uint)(frame.Length - offset));
            _used[i] = new UsedElement(chain.HeadIndex, Write(chain, memory, frame.Slice(offset, part)));
            offset += part;
        }
        _held.RemoveRange(0, needed);
        queue.AddUsedBatch(_used.AsSpan(0, needed));
        FramesReceived++;
        _frameLength = 0;
        return true;
    }

    private static uint Write(DescriptorChain chain, IGuestMemory memory, ReadOnlySpan<byte> bytes)
    {
        var writer = new DescriptorChainWriter(chain, memory);
        writer.Write(bytes);
        return writer.BytesWritten;
    }

    /// <summary>
    /// Takes the next usable receive chain off the ring into the held list; false when the ring has none. Before saying
    /// so it re-arms the driver's notification (avail_event under EVENT_IDX) and looks once more, so a buffer added
    /// meanwhile is not missed and the next one brings a notification.
    /// </summary>
    private bool TryHoldAnother(IVirtqueue queue)
    {
        while (true)
        {
            if (!queue.TryPop(out var chain))
            {
                if (queue.IsBroken || !queue.EnableNotification())
                    return false;
                continue;
            }
            // Receive buffers are device-writable only and hold at least the header (virtio 1.2 §5.1.6.3).
            if (chain.IsMalformed || chain.ReadableCount > 0 || chain.WritableLength < NetHeaderLayout.Size)
            {
                ChainsRejected++;
                queue.AddUsed(chain.HeadIndex, 0);
                continue;
            }
            _held.Add(chain);
            return true;
        }
    }
}
