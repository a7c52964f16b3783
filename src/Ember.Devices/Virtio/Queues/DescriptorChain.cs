namespace Ember.Devices.Virtio.Queues;

/// <summary>
/// One available buffer as the device sees it after walking (and checking) its descriptors: the
/// device-readable segments first, then the device-writable ones. The segments are copies of what
/// the descriptors said when they were read; the driver rewriting its descriptors afterwards changes
/// nothing here. A chain with a <see cref="Fault"/> has no segments and must be returned with used length 0.
/// </summary>
/// <remarks>
/// A chain from <see cref="IVirtqueue.TryPop"/> is the caller's to keep. One passed to <see cref="IVirtqueue.TryPopInto"/>
/// is refilled in place (its segment array reused, grown to the longest chain it held), so a device that is done with
/// each request before it takes the next pops without allocating; whoever holds such a chain sees it change.
/// </remarks>
public sealed class DescriptorChain
{
    private ChainSegment[] _segments;
    private int _count;

    /// <summary>An empty chain for <see cref="IVirtqueue.TryPopInto"/> to fill.</summary>
    internal DescriptorChain() => _segments = new ChainSegment[4];

    /// <summary>
    /// What identifies the chain when it is given back: for a split ring the head descriptor's index (the used
    /// element's id), for a packed ring the buffer id from the chain's last descriptor.
    /// </summary>
    public ushort HeadIndex { get; private set; }

    public ChainFault Fault { get; private set; }

    public bool IsMalformed => Fault != ChainFault.None;

    /// <summary>The segments (a copy of the list: for inspection, not for the request path).</summary>
    public IReadOnlyList<ChainSegment> Segments => _segments.AsSpan(0, _count).ToArray();

    /// <summary>How many of <see cref="Segments"/> (from the start) are device-readable.</summary>
    public int ReadableCount { get; private set; }

    /// <summary>Total bytes of the device-readable segments.</summary>
    public uint ReadableLength { get; private set; }

    /// <summary>Total bytes of the device-writable segments.</summary>
    public uint WritableLength { get; private set; }

    internal ReadOnlySpan<ChainSegment> ReadableSegments => _segments.AsSpan(0, ReadableCount);

    internal ReadOnlySpan<ChainSegment> WritableSegments => _segments.AsSpan(ReadableCount, _count - ReadableCount);

    /// <summary>How many segments are held so far (while a walk fills the chain).</summary>
    internal int Count => _count;

    /// <summary>Starts refilling: no segments, no fault, the given head.</summary>
    internal void Begin(ushort headIndex)
    {
        HeadIndex = headIndex;
        Fault = ChainFault.None;
        _count = 0;
        ReadableCount = 0;
        ReadableLength = 0;
        WritableLength = 0;
    }

    /// <summary>
    /// Appends a segment the walker has checked (inside RAM, readable before writable, total below 2^32), growing
    /// the array; a walk's hop limit bounds how far.
    /// </summary>
    internal void Add(ChainSegment segment)
    {
        if (_count == _segments.Length)
            Array.Resize(ref _segments, _count * 2);
        _segments[_count++] = segment;
    }

    /// <summary>The walk is done: the first <paramref name="readableCount"/> segments are readable, the sums as checked.</summary>
    internal void Complete(int readableCount, uint readableLength, uint writableLength)
    {
        ReadableCount = readableCount;
        ReadableLength = readableLength;
        WritableLength = writableLength;
    }

    /// <summary>The chain is malformed: no segments, only the fault and the head to hand back.</summary>
    internal DescriptorChain SetFault(ushort headIndex, ChainFault fault)
    {
        Begin(headIndex);
        Fault = fault;
        return this;
    }
}
