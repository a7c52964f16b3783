using Ember.Memory;

namespace Ember.Devices.Virtio.Queues;

/// <summary>
/// Reads the device-readable part of a chain front to back, copying out of guest memory (no span into
/// guest RAM outlives a call). The driver may change the bytes while they are read: callers parse the
/// copy, never guest memory twice.
/// </summary>
public sealed class DescriptorChainReader
{
    private readonly DescriptorChain _chain;
    private readonly IGuestMemory _memory;
    private int _segment;
    private uint _offsetInSegment;

    public DescriptorChainReader(DescriptorChain chain, IGuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(memory);
        _chain = chain;
        _memory = memory;
    }

    /// <summary>Total readable bytes.</summary>
    public uint Length => _chain.ReadableLength;

    /// <summary>Bytes consumed so far (read or skipped).</summary>
    public uint Position { get; private set; }

    public uint Remaining => Length - Position;

    /// <summary>True once a copy failed because guest memory went away under a checked segment; reading stops.</summary>
    public bool Failed { get; private set; }

    /// <summary>Copies up to destination.Length bytes; returns how many (0 at the end or after a failure).</summary>
    public int Read(Span<byte> destination)
    {
        int total = 0;
        var segments = _chain.ReadableSegments;
        while (!destination.IsEmpty && !Failed && _segment < segments.Length)
        {
            var segment = segments[_segment];
            uint left = segment.Length - _offsetInSegment;
            if (left == 0)
            {
                _segment++;
                _offsetInSegment = 0;
                continue;
            }
            int chunk = (int)Math.Min(left, (uint)destination.Length);
            // The segment lies inside RAM (checked when the chain was walked), so this sum cannot wrap.
            var source = new GuestAddress(segment.Address.Value + _offsetInSegment);
            if (!_memory.TryRead(source, destination[..chunk]))
            {
                Failed = true;
                break;
            }
            destination = destination[chunk..];
            _offsetInSegment += (uint)chunk;
            Position += (uint)chunk;
            total += chunk;
        }
        return total;
    }

    /// <summary>Fills the whole destination, or returns false when fewer bytes remain (consuming nothing then).</summary>
    public bool TryReadExact(Span<byte> destination)
    {
        if ((uint)destination.Length > Remaining)
            return false;
        return Read(destination) == destination.Length;
    }

    /// <summary>
    /// The next bytes of the readable part as a span aliasing guest RAM, at most <paramref name="maxLength"/>, for a
    /// backend to store in place (zero-copy); empty at the end, after a failure, or where a segment is not in RAM. The
    /// span stops at the end of the current segment and of its memory region, so a long request takes several. It
    /// must not outlive the call that uses it, and the guest may change the bytes meanwhile (data only, never parsed).
    /// <see cref="Advance"/> then moves past what was used.
    /// </summary>
    public ReadOnlySpan<byte> NextInPlace(uint maxLength)
    {
        var segments = _chain.ReadableSegments;
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

    /// <summary>Moves past <paramref name="count"/> bytes of the span <see cref="NextInPlace"/> gave.</summary>
    public void Advance(uint count)
    {
        var segments = _chain.ReadableSegments;
        if (_segment >= segments.Length)
            return;
        uint step = Math.Min(count, Math.Min(segments[_segment].Length - _offsetInSegment, Remaining));
        _offsetInSegment += step;
        Position += step;
    }

    /// <summary>Moves past up to <paramref name="count"/> bytes without copying them; returns how many.</summary>
    public uint Skip(uint count)
    {
        uint skipped = 0;
        var segments = _chain.ReadableSegments;
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
