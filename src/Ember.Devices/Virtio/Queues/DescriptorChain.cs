namespace Ember.Devices.Virtio.Queues;

/// <summary>
/// One available buffer as the device sees it after walking (and checking) its descriptors: the
/// device-readable segments first, then the device-writable ones. The segments are copies of what
/// the descriptors said when they were read; the driver rewriting its descriptors afterwards changes
/// nothing here. A chain with a <see cref="Fault"/> has no segments and must be returned with used length 0.
/// </summary>
public sealed class DescriptorChain
{
    private readonly ChainSegment[] _segments;

    internal DescriptorChain(ushort headIndex, ChainSegment[] segments, int readableCount, uint readableLength, uint writableLength)
    {
        HeadIndex = headIndex;
        _segments = segments;
        ReadableCount = readableCount;
        ReadableLength = readableLength;
        WritableLength = writableLength;
    }

    internal DescriptorChain(ushort headIndex, ChainFault fault)
    {
        HeadIndex = headIndex;
        _segments = [];
        Fault = fault;
    }

    /// <summary>
    /// What identifies the chain when it is given back: for a split ring the head descriptor's index (the used
    /// element's id), for a packed ring the buffer id from the chain's last descriptor.
    /// </summary>
    public ushort HeadIndex { get; }

    public ChainFault Fault { get; }

    public bool IsMalformed => Fault != ChainFault.None;

    public IReadOnlyList<ChainSegment> Segments => _segments;

    /// <summary>How many of <see cref="Segments"/> (from the start) are device-readable.</summary>
    public int ReadableCount { get; }

    /// <summary>Total bytes of the device-readable segments.</summary>
    public uint ReadableLength { get; }

    /// <summary>Total bytes of the device-writable segments.</summary>
    public uint WritableLength { get; }

    internal ReadOnlySpan<ChainSegment> ReadableSegments => _segments.AsSpan(0, ReadableCount);

    internal ReadOnlySpan<ChainSegment> WritableSegments => _segments.AsSpan(ReadableCount);
}
