using Ember.Memory;

namespace Ember.Devices.Virtio.Queues;

/// <summary>
/// Writes the device-writable part of a chain front to back, copying into guest memory (no span into
/// guest RAM outlives a call), with an optional cap below the chain's own writable length. It counts the
/// bytes it actually wrote, which is what the device reports as the used length.
/// </summary>
public sealed class DescriptorChainWriter
{
    private readonly DescriptorChain _chain;
    private readonly IGuestMemory _memory;
    private int _segment;
    private uint _offsetInSegment;

    /// <param name="limit">The most bytes this writer will cover, counted from the start of the writable part.</param>
    public DescriptorChainWriter(DescriptorChain chain, IGuestMemory memory, uint limit = uint.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(memory);
        _chain = chain;
        _memory = memory;
        Capacity = Math.Min(chain.WritableLength, limit);
    }

    /// <summary>Writable bytes this writer covers: the chain's, or the cap if lower.</summary>
    public uint Capacity { get; }

    /// <summary>Bytes passed so far (written or skipped).</summary>
    public uint Position { get; private set; }

    public uint Remaining => Capacity - Position;

    /// <summary>Bytes actually stored into guest memory.</summary>
    public uint BytesWritten { get; private set; }

    /// <summary>True once a copy failed because guest memory went away under a checked segment; writing stops.</summary>
    public bool Failed { get; private set; }

    /// <summary>Copies as much of <paramref name="source"/> as fits; returns how many bytes were written.</summary>
    public int Write(ReadOnlySpan<byte> source)
    {
        if ((uint)source.Length > Remaining)
            source = source[..(int)Remaining];
        int total = 0;
        var segments = _chain.WritableSegments;
        while (!source.IsEmpty && !Failed && _segment < segments.Length)
        {
            var segment = segments[_segment];
            uint left = segment.Length - _offsetInSegment;
            if (left == 0)
            {
                _segment++;
                _offsetInSegment = 0;
                continue;
            }
            int chunk = (int)Math.Min(left, (uint)source.Length);
            // The segment lies inside RAM (checked when the chain was walked), so this sum cannot wrap.
            var destination = new GuestAddress(segment.Address.Value + _offsetInSegment);
            if (!_memory.TryWrite(destination, source[..chunk]))
            {
                Failed = true;
                break;
            }
            source = source[chunk..];
            _offsetInSegment += (uint)chunk;
            Position += (uint)chunk;
            BytesWritten += (uint)chunk;
            total += chunk;
        }
        return total;
    }

    /// <summary>
    /// The next bytes of the writable part as a span aliasing guest RAM, at most <paramref name="maxLength"/>, for a
    /// backend to fill in place (zero-copy); empty at the end, after a failure, or where a segment is not in RAM. The
    /// span stops at the end of the current segment and of its memory region, so a long request takes several. It
    /// must not outlive the call that uses it, and the guest may change the bytes meanwhile (data only, never parsed).
    /// <see cref="Advance"/> then moves past what was used.
    /// </summary>
    public Span<byte> NextInPlace(uint maxLength)
    {
        var segments = _chain.WritableSegments;
        maxLength = Math.Min(maxLength, Remaining);
        while (!Failed && maxLength > 0 && _segment < segments.Length)
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
            return GuestRamSpans.InOneRegion(_memory, new GuestAddress(segment.Address.Value + _offsetInSegment), Math.Min(left, maxLength));
        }
        return [];
    }

    /// <summary>Moves past <paramref name="count"/> bytes of the span <see cref="NextInPlace"/> gave, counting them as written.</summary>
    public void Advance(uint count)
    {
        var segments = _chain.WritableSegments;
        if (_segment >= segments.Length)
            return;
        uint step = Math.Min(count, Math.Min(segments[_segment].Length - _offsetInSegment, Remaining));
        _offsetInSegment += step;
        Position += step;
            BytesWritten += step;
    }

    /// <summary>Moves past up to <paramref name="count"/> bytes, leaving them as the driver wrote them; returns how many.</summary>
    public uint Skip(uint count)
    {
        count = Math.Min(count, Remaining);
        uint skipped = 0;
        var segments = _chain.WritableSegments;
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
