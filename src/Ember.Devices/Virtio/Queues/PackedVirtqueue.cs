using System.Buffers.Binary;
using Ember.Memory;

namespace Ember.Devices.Virtio.Queues;

/// <summary>
/// The device side of one packed virtqueue (virtio 1.2 §2.8): one descriptor ring that the driver fills in order
/// with available descriptors and the device overwrites with used ones, and two event suppression structures.
/// </summary>
/// <remarks>
/// Threat model: the driver owns the ring and rewrites it while the device reads it. The layout is checked at
/// creation (size 1..max, any value; ring 16-aligned and the suppression structures 4-aligned, all inside RAM). A
/// chain is found by the first descriptor's flags (AVAIL ≠ USED, AVAIL = the device's wrap counter, read with
/// acquire), then every descriptor of it is copied once and checked: each must be available too, the chain must
/// end within one ring's worth (the hop limit), the buffer id (in the last descriptor) must be below the queue size
/// and not already held, and no more descriptors than the ring holds may be outstanding. Failing any of these
/// breaks the queue (<see cref="Virtqueue.Fault"/>): the device cannot tell where the next chain starts. Inside a well-framed
/// chain the checks are those of split rings (INDIRECT negotiated, one level, alone in its chain, table length a
/// multiple of 16 and at most the device's maximum queue size, buffers inside RAM, readable before writable, length
/// sum below 2^32); failing them gives a chain with a <see cref="ChainFault"/>, handed back with used length 0.
/// Nothing here throws on guest input. Not thread-safe: one caller at a time (the device serializes).
/// Ordering: a descriptor's flags are loaded with acquire before the rest of it; a used descriptor's id and length
/// are written before its flags are stored with release; a full fence separates publishing (used descriptors, or
/// the device event structure) from reading the driver's suppression fields or the next flags.
/// </remarks>
public sealed class PackedVirtqueue : Virtqueue
{
    private readonly GuestAddress _ring;
    private readonly GuestAddress _driverEvent;
    private readonly GuestAddress _deviceEvent;

    /// <summary>How many ring descriptors each outstanding buffer id took (0: not outstanding), to skip on use.</summary>
    private readonly ushort[] _descriptorsById;
    private readonly List<PackedDescriptor> _walk = [];

    private ushort _nextAvail;
    private bool _availWrap = true;
    private ushort _nextUsed;
    private bool _usedWrap = true;
    private int _outstanding;

    private ushort _decisionPosition;
    private bool _decisionWrap = true;
    private uint _usedSinceDecision;

    /// <param name="features">The negotiated feature bits (INDIRECT_DESC and EVENT_IDX matter here).</param>
    /// <param name="maxSize">The device's largest queue size; the driver's choice must not exceed it, nor an indirect table's entry count.</param>
    public PackedVirtqueue(VirtqueueLayout layout, IGuestMemory memory, ulong features, ushort maxSize = PackedRing.MaxQueueSize)
        : base(layout, memory, features, maxSize, PackedRing.MaxQueueSize, Validate)
    {
        _ring = new GuestAddress(layout.DescriptorArea);
        _driverEvent = new GuestAddress(layout.DriverArea);
        _deviceEvent = new GuestAddress(layout.DeviceArea);
        _descriptorsById = new ushort[Fault == QueueFault.None ? Size : 0];
    }

    /// <summary>The ring position the device looks at for the next available descriptor.</summary>
    public ushort NextAvailPosition => _nextAvail;

    /// <summary>The device's view of the Driver Ring Wrap Counter at <see cref="NextAvailPosition"/>.</summary>
    public bool AvailWrapCounter => _availWrap;

    /// <summary>The ring position the next used descriptor goes to.</summary>
    public ushort NextUsedPosition => _nextUsed;

    /// <summary>The Device Ring Wrap Counter.</summary>
    public bool UsedWrapCounter => _usedWrap;

    /// <summary>Ring descriptors taken and not yet given back.</summary>
    public int OutstandingDescriptors => _outstanding;

    public PackedVirtqueueState GetState() =>
        new(Layout, Features, MaxSize, _nextAvail, _availWrap, _nextUsed, _usedWrap, _descriptorsById.ToArray(),
            _decisionPosition, _decisionWrap, _usedSinceDecision);

    /// <summary>
    /// A queue that carries on from <paramref name="state"/> over <paramref name="memory"/>. The layout is checked again
    /// as for a new queue, and so is the rest (a saved state is no more trusted than the driver that made it): positions
    /// inside the ring, one count per id, no more outstanding than the ring holds; otherwise the queue is broken.
    /// </summary>
    public static PackedVirtqueue FromState(PackedVirtqueueState state, IGuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(state);
        var queue = new PackedVirtqueue(state.Layout, memory, state.Features, state.MaxSize);
        if (queue.IsBroken)
            return queue;
        ushort size = queue.Size;
        int outstanding = 0;
        foreach (ushort count in state.DescriptorsById ?? [])
            outstanding += count;
        if (state.DescriptorsById is null || state.DescriptorsById.Count != size || outstanding > size
            || state.NextAvailPosition >= size || state.NextUsedPosition >= size || state.DecisionPosition >= size)
        {
            queue.Break(QueueFault.InvalidSavedState);
            return queue;
        }
        for (int id = 0; id < size; id++)
            queue._descriptorsById[id] = state.DescriptorsById[id];
        queue._outstanding = outstanding;
        queue._nextAvail = state.NextAvailPosition;
        queue._availWrap = state.AvailWrapCounter;
        queue._nextUsed = state.NextUsedPosition;
        queue._usedWrap = state.UsedWrapCounter;
        queue._decisionPosition = state.DecisionPosition;
        queue._decisionWrap = state.DecisionWrapCounter;
        queue._usedSinceDecision = state.UsedSinceDecision;
        return queue;
    }

    private static QueueFault Validate(VirtqueueLayout layout, IGuestMemory memory, int maxSize)
    {
        if (layout.Size == 0 || layout.Size > maxSize)
            return QueueFault.InvalidSize;
        return ValidateAreas(
            layout, memory,
            (PackedRing.DescriptorRingAlignment, PackedRing.DescriptorRingSize(layout.Size)),
            (PackedRing.EventSuppressionAlignment, PackedRing.EventSuppressionSize),
            (PackedRing.EventSuppressionAlignment, PackedRing.EventSuppressionSize));
    }

    /// <summary>
    /// Takes the next available chain; its <see cref="DescriptorChain.HeadIndex"/> is the buffer id. Returns false
    /// when none is available or the queue is (or just became) broken.
    /// </summary>
    public override bool TryPopInto(DescriptorChain chain)
    {
        ArgumentNullException.ThrowIfNull(chain);
        if (IsBroken)
            return false;
        if (!TryLoadFlags(_nextAvail, out ushort firstFlags))
            return Break(QueueFault.RingInaccessible);
        if (!PackedRing.IsAvailable(firstFlags, _availWrap))
            return false;

        // The driver exposes the first descriptor last (§2.8.6), so once its flags are seen (acquire) the rest of
        // the chain is written. Copy each descriptor once; everything after works on the copies.
        _walk.Clear();
        ushort position = _nextAvail;
        bool wrap = _availWrap;
        Span<byte> raw = stackalloc byte[PackedRing.DescriptorSize];
        while (true)
        {
            // Hop limit: a chain never holds more descriptors than the ring (§2.8.18), nor more than the slots the
            // device does not hold (the driver may only reuse descriptors it saw used).
            if (_walk.Count == Size)
                return Break(QueueFault.ChainLongerThanRing);
            if (_outstanding + _walk.Count == Size)
                return Break(QueueFault.TooManyOutstanding);
            if (!_ring.TryAdd((ulong)position * PackedRing.DescriptorSize, out var address) || !Memory.TryRead(address, raw))
                return Break(QueueFault.RingInaccessible);
            ushort flags = _walk.Count == 0 ? firstFlags : BinaryPrimitives.ReadUInt16LittleEndian(raw[PackedRing.FlagsOffset..]);
            if (_walk.Count > 0 && !PackedRing.IsAvailable(flags, wrap))
                return Break(QueueFault.ChainDescriptorNotAvailable);
            _walk.Add(new PackedDescriptor(
                new GuestAddress(BinaryPrimitives.ReadUInt64LittleEndian(raw)),
                BinaryPrimitives.ReadUInt32LittleEndian(raw[PackedRing.LengthOffset..]),
                BinaryPrimitives.ReadUInt16LittleEndian(raw[PackedRing.IdOffset..]),
                flags));
            if (++position == Size)
            {
                position = 0;
                wrap = !wrap;
            }
            if ((flags & PackedRing.DescriptorNext) == 0)
                break;
        }

        int count = _walk.Count;
        // "Buffer ID is included in the last descriptor in the list" (§2.8.6).
        ushort id = _walk[count - 1].Id;
        if (id >= Size)
            return Break(QueueFault.BufferIdOutOfRange);
        if (_descriptorsById[id] != 0)
            return Break(QueueFault.BufferIdInUse);

        _nextAvail = position;
        _availWrap = wrap;
        _outstanding += count;
        _descriptorsById[id] = (ushort)count;
        Build(id, chain);
        return true;
    }

    /// <summary>
    /// Returns buffer <paramref name="headIndex"/> (its id): writes one used descriptor at the next used position
    /// and skips the rest of the descriptors the buffer took.
    /// </summary>
    public override void AddUsed(ushort headIndex, uint length)
    {
        if (IsBroken)
            return;
        ushort descriptors = DescriptorsOf(headIndex);
        if (!TryWriteUsed(_nextUsed, headIndex, length) || !TryPublishUsed(_nextUsed, _usedWrap, length))
        {
            Break(QueueFault.RingInaccessible);
            return;
        }
        Advance(headIndex, descriptors);
    }

    /// <summary>
    /// Returns several buffers at once. The first one's flags are stored last, after the others are complete,
    /// so the driver never sees part of the batch (§2.8.8, "Multi-buffer requests").
    /// </summary>
    public override void AddUsedBatch(ReadOnlySpan<UsedElement> elements)
    {
        ThrowIfBatchTooLarge(elements);
        if (IsBroken || elements.IsEmpty)
            return;
        foreach (var used in elements)
            DescriptorsOf(used.HeadIndex);
        Span<ushort> positions = elements.Length <= 256 ? stackalloc ushort[elements.Length] : new ushort[elements.Length];
        Span<bool> wraps = elements.Length <= 256 ? stackalloc bool[elements.Length] : new bool[elements.Length];
        ushort position = _nextUsed;
        bool wrap = _usedWrap;
        for (int i = 0; i < elements.Length; i++)
        {
            positions[i] = position;
            wraps[i] = wrap;
            if (!TryWriteUsed(position, elements[i].HeadIndex, elements[i].Length))
            {
                Break(QueueFault.RingInaccessible);
                return;
            }
            int next = position + _descriptorsById[elements[i].HeadIndex];
            if (next >= Size)
            {
                next -= Size;
                wrap = !wrap;
            }
            position = (ushort)next;
        }
        for (int i = elements.Length - 1; i >= 0; i--)
        {
            if (!TryPublishUsed(positions[i], wraps[i], elements[i].Length))
            {
                Break(QueueFault.RingInaccessible);
                return;
            }
        }
        foreach (var used in elements)
            Advance(used.HeadIndex, _descriptorsById[used.HeadIndex]);
    }

    /// <summary>
    /// Re-arms available buffer notifications in the device event suppression structure (under EVENT_IDX: for the
    /// next descriptor the device will look at, RING_EVENT_FLAGS_DESC; otherwise RING_EVENT_FLAGS_ENABLE), then
    /// looks at that descriptor again. True means more is available: keep popping.
    /// </summary>
    public override bool EnableNotification()
    {
        if (IsBroken)
            return false;
        if (EventIndex)
        {
            ushort offWrap = (ushort)(_nextAvail | (_availWrap ? PackedRing.EventWrapBit : 0));
            if (!RingField.TryStoreRelease(Memory, _deviceEvent, PackedRing.EventOffWrapOffset, offWrap)
                || !RingField.TryStoreRelease(Memory, _deviceEvent, PackedRing.EventFlagsOffset, PackedRing.EventFlagsDesc))
                return Break(QueueFault.RingInaccessible);
        }
        else if (!RingField.TryStoreRelease(Memory, _deviceEvent, PackedRing.EventFlagsOffset, PackedRing.EventFlagsEnable))
        {
            return Break(QueueFault.RingInaccessible);
        }
        // Store (event structure) then load (the next flags): only a full fence orders these.
        Interlocked.MemoryBarrier();
        if (!TryLoadFlags(_nextAvail, out ushort flags))
            return Break(QueueFault.RingInaccessible);
        return PackedRing.IsAvailable(flags, _availWrap);
    }

    /// <summary>
    /// Whether the driver wants an interrupt for what was used since the last time this was asked, by its event
    /// suppression structure: DISABLE never; DESC (under EVENT_IDX) when the used position passed off_wrap;
    /// ENABLE, and any value the spec does not define, always. False when nothing was used since the last call.
    /// </summary>
    public override bool NeedsInterrupt()
    {
        if (IsBroken)
            return false;
        // Store (used flags) then load (driver event structure): a full fence, or a driver that just re-enabled
        // interrupts could be missed.
        Interlocked.MemoryBarrier();
        ushort oldPosition = _decisionPosition;
        bool oldWrap = _decisionWrap;
        uint used = _usedSinceDecision;
        _decisionPosition = _nextUsed;
        _decisionWrap = _usedWrap;
        _usedSinceDecision = 0;
        if (used == 0)
            return false;
        if (!RingField.TryLoadAcquire(Memory, _driverEvent, PackedRing.EventFlagsOffset, out ushort flags))
            return Break(QueueFault.RingInaccessible);
        switch (flags & PackedRing.EventFlagsMask)
        {
            case PackedRing.EventFlagsDisable:
                return false;
            case PackedRing.EventFlagsDesc when EventIndex:
                if (!RingField.TryLoadAcquire(Memory, _driverEvent, PackedRing.EventOffWrapOffset, out ushort offWrap))
                    return Break(QueueFault.RingInaccessible);
                ushort eventPosition = (ushort)(offWrap & ~PackedRing.EventWrapBit);
                // A whole ring's worth used passes every position; an offset beyond the ring is nonsense. Either
                // way an interrupt too many is harmless, one too few hangs the driver.
                if (used >= Size || eventPosition >= Size)
                    return true;
                return PackedRing.SteppedOver(Size, eventPosition, (offWrap & PackedRing.EventWrapBit) != 0, oldPosition, oldWrap, _nextUsed, _usedWrap);
            default:
                return true;
        }
    }

    /// <summary>The segments of the chain in <see cref="_walk"/>, or its fault, into <paramref name="chain"/>.</summary>
    private DescriptorChain Build(ushort id, DescriptorChain chain)
    {
        if (_walk.Count == 1 && (_walk[0].Flags & PackedRing.DescriptorIndirect) != 0)
            return BuildIndirect(id, _walk[0], chain);
        var builder = new ChainSegmentsBuilder(Memory, chain, id);
        foreach (var descriptor in _walk)
        {
            // An indirect descriptor may only stand alone (§2.8.7: not in a list linked by NEXT).
            if ((descriptor.Flags & PackedRing.DescriptorIndirect) != 0)
                return builder.Fail(ChainFault.IndirectWithNext);
            var fault = builder.Add(descriptor.Address, descriptor.Length, (descriptor.Flags & PackedRing.DescriptorWrite) != 0);
            if (fault != ChainFault.None)
                return builder.Fail(fault);
        }
        return builder.Build();
    }

    /// <summary>
    /// An indirect table: len / 16 consecutive descriptors, of whose flags only WRITE counts (NEXT, INDIRECT and the
    /// id are reserved and ignored, §2.8.7), so a table can neither nest nor loop.
    /// </summary>
    private DescriptorChain BuildIndirect(ushort id, PackedDescriptor descriptor, DescriptorChain chain)
    {
        if (!IndirectAllowed)
            return chain.SetFault(id, ChainFault.IndirectNotNegotiated);
        uint length = descriptor.Length;
        if (!IsValidIndirectTableLength(length, PackedRing.DescriptorSize))
            return chain.SetFault(id, ChainFault.IndirectTableLength);
        if (!Memory.IsValidRange(descriptor.Address, length))
            return chain.SetFault(id, ChainFault.IndirectTableOutsideRam);
        var builder = new ChainSegmentsBuilder(Memory, chain, id);
        Span<byte> raw = stackalloc byte[PackedRing.DescriptorSize];
        uint entries = length / PackedRing.DescriptorSize;
        for (uint i = 0; i < entries; i++)
        {
            // Inside the table, which was checked to lie in RAM: the sum cannot wrap.
            var entry = new GuestAddress(descriptor.Address.Value + (i * PackedRing.DescriptorSize));
            if (!Memory.TryRead(entry, raw))
                return builder.Fail(ChainFault.IndirectTableOutsideRam);
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(raw[PackedRing.FlagsOffset..]);
            var fault = builder.Add(
                new GuestAddress(BinaryPrimitives.ReadUInt64LittleEndian(raw)),
                BinaryPrimitives.ReadUInt32LittleEndian(raw[PackedRing.LengthOffset..]),
                (flags & PackedRing.DescriptorWrite) != 0);
            if (fault != ChainFault.None)
                return builder.Fail(fault);
        }
        return builder.Build();
    }

    /// <summary>How many ring descriptors buffer <paramref name="id"/> took; a device handing back a buffer it never took is a bug.</summary>
    private ushort DescriptorsOf(ushort id)
    {
        if (id >= _descriptorsById.Length || _descriptorsById[id] == 0)
            throw new InvalidOperationException($"buffer {id} is not outstanding on this queue");
        return _descriptorsById[id];
    }

    private void Advance(ushort id, ushort descriptors)
    {
        _descriptorsById[id] = 0;
        _outstanding -= descriptors;
        _usedSinceDecision += descriptors;
        int next = _nextUsed + descriptors;
        if (next >= Size)
        {
            next -= Size;
            _usedWrap = !_usedWrap;
        }
        _nextUsed = (ushort)next;
    }

    /// <summary>The used descriptor's length and id, written before its flags make it visible.</summary>
    private bool TryWriteUsed(ushort position, ushort id, uint length)
    {
        Span<byte> bytes = stackalloc byte[6];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, length);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[4..], id);
        return _ring.TryAdd(((ulong)position * PackedRing.DescriptorSize) + PackedRing.LengthOffset, out var address)
            && Memory.TryWrite(address, bytes);
    }

    /// <summary>
    /// Marks the descriptor at <paramref name="position"/> used (AVAIL = USED = the device wrap counter, §2.8.1) with
    /// a release store; WRITE says the device wrote data (§2.8.3).
    /// </summary>
    private bool TryPublishUsed(ushort position, bool wrap, uint length)
    {
        ushort flags = (ushort)((wrap ? PackedRing.DescriptorAvail | PackedRing.DescriptorUsed : 0) | (length > 0 ? PackedRing.DescriptorWrite : 0));
        return RingField.TryStoreRelease(Memory, _ring, ((ulong)position * PackedRing.DescriptorSize) + PackedRing.FlagsOffset, flags);
    }

    private bool TryLoadFlags(ushort position, out ushort flags) =>
        RingField.TryLoadAcquire(Memory, _ring, ((ulong)position * PackedRing.DescriptorSize) + PackedRing.FlagsOffset, out flags);
}
