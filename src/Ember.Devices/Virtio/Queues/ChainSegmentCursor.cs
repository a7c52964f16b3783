using Ember.Memory;

namespace Ember.Devices.Virtio.Queues;

/// <summary>
/// A position in one part (readable or writable) of a chain: which segment, how far into it, how far overall, and
/// whether a copy failed. <see cref="DescriptorChainReader"/> and <see cref="DescriptorChainWriter"/> move through
/// their part with it and differ only in the direction of the copy.
/// </summary>
/// <remarks>
/// A mutable struct held in a field of its owner (never copied, never readonly), so a request costs no allocation
/// beyond the reader or writer itself. The segments were checked to lie inside RAM when the chain was walked.
/// </remarks>
internal struct ChainSegmentCursor
{
    private readonly DescriptorChain _chain;
    private readonly bool _writable;
    private int _segment;
    private uint _offsetInSegment;

    /// <param name="limit">The most bytes the cursor covers, counted from the start of the part.</param>
    public ChainSegmentCursor(DescriptorChain chain, bool writable, uint limit)
    {
        _chain = chain;
        _writable = writable;
        Limit = limit;
    }

    /// <summary>Bytes the cursor covers: the part's length, or a lower cap.</summary>
    public uint Limit { get; }

    /// <summary>Bytes passed so far.</summary>
    public uint Position { get; private set; }

    public readonly uint Remaining => Limit - Position;

    /// <summary>True once a copy failed because guest memory went away under a checked segment; the owner stops then.</summary>
    public bool Failed { get; private set; }

    private readonly ReadOnlySpan<ChainSegment> Segments => _writable ? _chain.WritableSegments : _chain.ReadableSegments;

    public void Fail() => Failed = true;

    /// <summary>
    /// Where the next bytes are and how many of them (at most <paramref name="maxLength"/>) lie in the current segment,
    /// past segments already used up; false at the end of the part or after a failure.
    /// </summary>
    public bool TryNext(uint maxLength, out GuestAddress address, out uint length)
    {
        var segments = Segments;
        while (!Failed && _segment < segments.Length)
        {
            var segment = segments[_segment];
            uint left = segment.Length - _offsetInSegment;
            if (left == 0)
            {
                _segment++;
                _offsetInSegment = 0;
                continue;
            }
            // The segment lies inside RAM (checked when the chain was walked), so this sum cannot wrap.
            address = new GuestAddress(segment.Address.Value + _offsetInSegment);
            length = Math.Min(left, maxLength);
            return true;
        }
        address = default;
        length = 0;
        return false;
    }

    /// <summary>Moves past <paramref name="count"/> bytes that <see cref="TryNext"/> just offered.</summary>
    public void Consume(uint count)
    {
        _offsetInSegment += count;
        Position += count;
    }

    /// <summary>
    /// The next bytes as a span aliasing guest RAM, at most <paramref name="maxLength"/> and within <see cref="Remaining"/>,
    /// stopping at the end of the current segment and of its memory region; empty at the end, after a failure, or where
    /// a segment is not in RAM.
    /// </summary>
    public Span<byte> NextInPlace(IGuestMemory memory, uint maxLength)
    {
        maxLength = Math.Min(maxLength, Remaining);
        if (maxLength == 0 || !TryNext(maxLength, out var address, out uint length))
            return [];
        return GuestRamSpans.InOneRegion(memory, address, length);
    }

    /// <summary>Moves past up to <paramref name="count"/> bytes of the span <see cref="NextInPlace"/> gave; returns how many.</summary>
    public uint Advance(uint count)
    {
        var segments = Segments;
        if (_segment >= segments.Length)
            return 0;
        uint step = Math.Min(count, Math.Min(segments[_segment].Length - _offsetInSegment, Remaining));
        Consume(step);
        return step;
    }

    /// <summary>Moves past up to <paramref name="count"/> bytes (within <see cref="Remaining"/>) without touching them; returns how many.</summary>
    public uint Skip(uint count)
    {
        count = Math.Min(count, Remaining);
        uint skipped = 0;
        var segments = Segments;
        while (skipped < count && _segment < segments.Length)
        {
            uint left = segments[_segment].Length - _offsetInSegment;
            uint step = Math.Min(left, count - skipped);
            _offsetInSegment += step;
            skipped += step;
            if (_offsetInSegment == segments[_segment].Length)
            {
                _segment++;
                _offsetInSegment = 0;
            }
        }
        Position += skipped;
        return skipped;
    }
}
