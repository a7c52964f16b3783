using System.Buffers.Binary;
using Ember.Memory;

namespace Ember.Devices.Virtio.Queues;

/// <summary>
/// The device side of one split virtqueue (virtio 1.2 §2.7): takes available descriptor chains, returns
/// used ones, and decides when the driver wants an interrupt.
/// </summary>
/// <remarks>
/// Threat model: the driver owns the rings and rewrites them while the device reads them. Every value is
/// read once into a local copy and checked before use: the layout against guest RAM at creation, avail idx
/// against the queue size, each descriptor index against its table, the number of hops against the table
/// size (a loop ends there), buffer ranges against RAM, length sums against 2^32 − 1, and the order of
/// readable and writable buffers. Damage to the ring as a whole breaks the queue (<see cref="Virtqueue.Fault"/>), after
/// which it does nothing; damage inside one chain yields a chain with a <see cref="ChainFault"/> that the
/// device hands back with used length 0. Nothing here throws on guest input. Not thread-safe: one caller
/// at a time (the device serializes). The three areas are resolved once, at creation, to windows on guest RAM
/// (<see cref="RingArea"/>); each access is still checked against its area, and an area across two memory regions
/// is reached through guest memory access by access. A chain popped with <see cref="Virtqueue.TryPopInto"/> reuses
/// the caller's chain object, so a request allocates nothing.
/// Ordering: avail idx is read with acquire semantics before the ring entries it covers; used elements are
/// written before used idx is published with release semantics; a full fence separates publishing used idx
/// (or avail_event) from reading the driver's suppression fields, as the spec's notification protocol needs (one
/// fence serves both when nothing is published between them).
/// </remarks>
public sealed class SplitVirtqueue : Virtqueue
{
    // The three areas, checked to lie inside RAM before they are made (a broken queue never touches them), each
    // with its window on RAM resolved once here rather than looked up on every access.
    private readonly RingArea _descriptors;
    private readonly RingArea _driverArea;
    private readonly RingArea _deviceArea;

    private ushort _nextAvail;
    private ushort _lastSeenAvail;
    private ushort _nextUsed;
    private ushort _usedAtLastInterruptDecision;
    // True from publishing used idx until a full fence follows it: NeedsInterrupt needs one between that store and its
    // load of used_event, and EnableNotification's fence (under EVENT_IDX), when it came later, already is one.
    private bool _usedIndexUnfenced;

    /// <summary>
    /// Checks <paramref name="layout"/> against <paramref name="memory"/>; a bad layout gives a queue that is
    /// broken from the start rather than an exception.
    /// </summary>
    /// <param name="features">The negotiated feature bits (INDIRECT_DESC and EVENT_IDX matter here).</param>
    /// <param name="maxSize">The device's largest queue size; the driver's choice must not exceed it, nor an indirect table's entry count.</param>
    public SplitVirtqueue(VirtqueueLayout layout, IGuestMemory memory, ulong features, ushort maxSize = SplitRing.MaxQueueSize)
        : base(layout, memory, features, maxSize, SplitRing.MaxQueueSize, Validate)
    {
        if (IsBroken)
            return;
        _descriptors = new RingArea(memory, new GuestAddress(layout.DescriptorArea), SplitRing.DescriptorAreaSize(Size));
        _driverArea = new RingArea(memory, new GuestAddress(layout.DriverArea), SplitRing.DriverAreaSize(Size));
        _deviceArea = new RingArea(memory, new GuestAddress(layout.DeviceArea), SplitRing.DeviceAreaSize(Size));
    }

    /// <summary>The free-running index of the next available ring entry the device will take.</summary>
    public ushort NextAvailIndex => _nextAvail;

    /// <summary>The free-running used idx as last published.</summary>
    public ushort UsedIndex => _nextUsed;

    public bool EventIndexEnabled => EventIndex;

    public SplitVirtqueueState GetState() =>
        new(Layout, Features, MaxSize, _nextAvail, _nextUsed, _usedAtLastInterruptDecision);

    /// <summary>
    /// A queue that carries on from <paramref name="state"/> over <paramref name="memory"/>. The layout is checked
    /// again as for a new queue (a saved state is no more trusted than the driver that made it).
    /// </summary>
    public static SplitVirtqueue FromState(SplitVirtqueueState state, IGuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(state);
        return new SplitVirtqueue(state.Layout, memory, state.Features, state.MaxSize)
        {
            _nextAvail = state.NextAvailIndex,
            // Nothing is known about avail idx yet: the next pop reads it afresh.
            _lastSeenAvail = state.NextAvailIndex,
            _nextUsed = state.UsedIndex,
            _usedAtLastInterruptDecision = state.UsedAtLastInterruptDecision,
            // Whoever published used idx before the state was taken did so unfenced, as far as this queue knows.
            _usedIndexUnfenced = true,
        };
    }

    private static QueueFault Validate(VirtqueueLayout layout, IGuestMemory memory, int maxSize)
    {
        ushort size = layout.Size;
        if (size == 0 || size > maxSize || (size & (size - 1)) != 0)
            return QueueFault.InvalidSize;
        return ValidateAreas(
            layout, memory,
            (SplitRing.DescriptorAreaAlignment, SplitRing.DescriptorAreaSize(size)),
            (SplitRing.DriverAreaAlignment, SplitRing.DriverAreaSize(size)),
            (SplitRing.DeviceAreaAlignment, SplitRing.DeviceAreaSize(size)));
    }

    /// <summary>
    /// Takes the next available chain into <paramref name="chain"/>. Returns false when none is available or the queue
    /// is (or just became) broken. A chain taken may be malformed (<see cref="DescriptorChain.IsMalformed"/>); it still
    /// counts as taken and must be given back with <see cref="AddUsed"/>.
    /// </summary>
    public override bool TryPopInto(DescriptorChain chain)
    {
        ArgumentNullException.ThrowIfNull(chain);
        if (IsBroken)
            return false;
        if (_nextAvail == _lastSeenAvail)
        {
            // One read of avail idx per batch; entries up to it are the driver's to have written (acquire).
            if (!_driverArea.TryLoadAcquire(SplitRing.AvailIndexOffset, out ushort availIndex))
                return Break(QueueFault.RingInaccessible);
            // Modulo 2^16, so the count stays right when idx wraps past 65535; a driver can never have more
            // than Size entries outstanding, so anything beyond that is a lie (or idx moved backwards).
            ushort pending = (ushort)(availIndex - _nextAvail);
            if (pending > Size)
                return Break(QueueFault.AvailIndexTooFarAhead);
            _lastSeenAvail = availIndex;
            if (pending == 0)
                return false;
        }
        // The size is a power of two that divides 2^16, so the wrapping index maps onto the ring directly.
        ulong entryOffset = SplitRing.AvailRingOffset + (2UL * (ushort)(_nextAvail & (Size - 1)));
        Span<byte> entry = stackalloc byte[sizeof(ushort)];
        if (!_driverArea.TryRead(entryOffset, entry))
            return Break(QueueFault.RingInaccessible);
        ushort head = BinaryPrimitives.ReadUInt16LittleEndian(entry);
        if (head >= Size)
            return Break(QueueFault.HeadIndexOutOfRange);
        _nextAvail++;
        Walk(head, chain);
        return true;
    }

    /// <summary>
    /// Returns a chain to the driver: writes the used element (id = head index, len = bytes the device wrote
    /// into the writable part) and publishes the new used idx after it.
    /// </summary>
    public override void AddUsed(ushort headIndex, uint length)
    {
        if (IsBroken)
            return;
        Span<byte> element = stackalloc byte[SplitRing.UsedElementSize];
        BinaryPrimitives.WriteUInt32LittleEndian(element, headIndex);
        BinaryPrimitives.WriteUInt32LittleEndian(element[4..], length);
        ulong offset = SplitRing.UsedRingOffset + ((ulong)SplitRing.UsedElementSize * (ushort)(_nextUsed & (Size - 1)));
        if (!_deviceArea.TryWrite(offset, element))
        {
            Break(QueueFault.RingInaccessible);
            return;
        }
        _nextUsed++;
        // Release: the element above becomes visible before the index that covers it.
        if (!_deviceArea.TryStoreRelease(SplitRing.UsedIndexOffset, _nextUsed))
            Break(QueueFault.RingInaccessible);
        _usedIndexUnfenced = true;
    }

    /// <summary>
    /// Returns several chains at once: writes every used element, then publishes used idx once, so the driver sees
    /// all of them or none. virtio-net needs this for a frame spread over several receive chains (MRG_RXBUF, virtio
    /// 1.2 §5.1.6.4): a driver that saw the first chain before the others would find buffers missing.
    /// </summary>
    public override void AddUsedBatch(ReadOnlySpan<UsedElement> elements)
    {
        ThrowIfBatchTooLarge(elements);
        if (IsBroken || elements.IsEmpty)
            return;
        Span<byte> element = stackalloc byte[SplitRing.UsedElementSize];
        ushort next = _nextUsed;
        foreach (var used in elements)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(element, used.HeadIndex);
            BinaryPrimitives.WriteUInt32LittleEndian(element[4..], used.Length);
            ulong offset = SplitRing.UsedRingOffset + ((ulong)SplitRing.UsedElementSize * (ushort)(next & (Size - 1)));
            if (!_deviceArea.TryWrite(offset, element))
            {
                Break(QueueFault.RingInaccessible);
                return;
            }
            next++;
        }
        _nextUsed = next;
        // Release: every element above becomes visible before the index that covers them.
        if (!_deviceArea.TryStoreRelease(SplitRing.UsedIndexOffset, _nextUsed))
            Break(QueueFault.RingInaccessible);
        _usedIndexUnfenced = true;
    }

    /// <summary>
    /// Called when the device has run out of chains and is about to wait for a notification. Under EVENT_IDX
    /// it publishes avail_event (notify me when you add past what I consumed); then it looks at avail idx again,
    /// because the driver may have added a buffer before seeing that. True means more is available: keep popping.
    /// </summary>
    public override bool EnableNotification()
    {
        if (IsBroken)
            return false;
        if (EventIndex)
        {
            if (!_deviceArea.TryStoreRelease(SplitRing.AvailEventOffset(Size), _nextAvail))
                return Break(QueueFault.RingInaccessible);
            // Store (avail_event) then load (avail idx): only a full fence orders these.
            Interlocked.MemoryBarrier();
            _usedIndexUnfenced = false;
        }
        if (!_driverArea.TryLoadAcquire(SplitRing.AvailIndexOffset, out ushort availIndex))
            return Break(QueueFault.RingInaccessible);
        return availIndex != _nextAvail;
    }

    /// <summary>
    /// Whether the driver wants an interrupt for what was used since the last time this was asked: under
    /// EVENT_IDX, when used idx stepped over used_event (vring_need_event); otherwise unless the driver set
    /// VIRTQ_AVAIL_F_NO_INTERRUPT. False when nothing was used since the last call.
    /// </summary>
    public override bool NeedsInterrupt()
    {
        if (IsBroken)
            return false;
        // Store (used idx) then load (used_event or avail flags): a full fence, or a driver that just
        // re-enabled interrupts could be missed. One since the last publish (EnableNotification's) does.
        if (_usedIndexUnfenced)
        {
            Interlocked.MemoryBarrier();
            _usedIndexUnfenced = false;
        }
        ushort oldIndex = _usedAtLastInterruptDecision;
        ushort newIndex = _nextUsed;
        _usedAtLastInterruptDecision = newIndex;
        if (newIndex == oldIndex)
            return false;
        if (EventIndex)
        {
            if (!_driverArea.TryLoadAcquire(SplitRing.UsedEventOffset(Size), out ushort usedEvent))
                return Break(QueueFault.RingInaccessible);
            return SplitRing.NeedsEvent(usedEvent, newIndex, oldIndex);
        }
        if (!_driverArea.TryLoadAcquire(SplitRing.AvailFlagsOffset, out ushort flags))
            return Break(QueueFault.RingInaccessible);
        return (flags & SplitRing.AvailNoInterrupt) == 0;
    }

    /// <summary>
    /// Follows the chain from <paramref name="head"/> into <paramref name="chain"/>, through at most one indirect
    /// table, copying each descriptor once before checking it.
    /// </summary>
    private void Walk(ushort head, DescriptorChain chain)
    {
        var segments = new ChainSegmentsBuilder(Memory, chain, head);
        RingArea table = _descriptors;
        uint tableSize = Size;
        bool inIndirectTable = false;
        uint index = head;
        uint hops = 0;
        Span<byte> raw = stackalloc byte[SplitRing.DescriptorSize];
        while (true)
        {
            // A chain without a loop visits each descriptor of its table at most once.
            if (++hops > tableSize)
            {
                segments.Fail(ChainFault.TooLong);
                return;
            }
            // In range: index < tableSize, and the table was checked to lie inside RAM (the area checks it again).
            if (!table.TryRead(index * (ulong)SplitRing.DescriptorSize, raw))
            {
                segments.Fail(ChainFault.BufferOutsideRam);
                return;
            }
            var address = new GuestAddress(BinaryPrimitives.ReadUInt64LittleEndian(raw));
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(raw[8..]);
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(raw[12..]);
            ushort next = BinaryPrimitives.ReadUInt16LittleEndian(raw[14..]);

            if ((flags & SplitRing.DescriptorIndirect) != 0)
            {
                var fault = CheckIndirect(inIndirectTable, flags, address, length);
                if (fault != ChainFault.None)
                {
                    segments.Fail(fault);
                    return;
                }
                // The device ignores WRITE on the descriptor that points at a table; the table's entries
                // carry their own flags and start again at index 0.
                table = new RingArea(Memory, address, length);
                tableSize = length / SplitRing.DescriptorSize;
                inIndirectTable = true;
                index = 0;
                hops = 0;
                continue;
            }

            var segmentFault = segments.Add(address, length, (flags & SplitRing.DescriptorWrite) != 0);
            if (segmentFault != ChainFault.None)
            {
                segments.Fail(segmentFault);
                return;
            }
            if ((flags & SplitRing.DescriptorNext) == 0)
                break;
            if (next >= tableSize)
            {
                segments.Fail(ChainFault.NextIndexOutOfRange);
                return;
            }
            index = next;
        }
        segments.Build();
    }

    private ChainFault CheckIndirect(bool inIndirectTable, ushort flags, GuestAddress address, uint length)
    {
        if (!IndirectAllowed)
            return ChainFault.IndirectNotNegotiated;
        if (inIndirectTable)
            return ChainFault.NestedIndirect;
        if ((flags & SplitRing.DescriptorNext) != 0)
            return ChainFault.IndirectWithNext;
        if (!IsValidIndirectTableLength(length, SplitRing.DescriptorSize))
            return ChainFault.IndirectTableLength;
        if (!Memory.IsValidRange(address, length))
            return ChainFault.IndirectTableOutsideRam;
        return ChainFault.None;
    }
}
