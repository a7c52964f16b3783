using Ember.Memory;

namespace Ember.Devices.Virtio.Queues;

/// <summary>
/// Reads the device-readable part of a chain front to back, copying out of guest memory (no span into
/// guest RAM outlives a call). The driver may change the bytes while they are read: callers parse the
/// copy, never guest memory twice.
/// </summary>
public sealed class DescriptorChainReader
{
    private IGuestMemory _memory;
    private ChainSegmentCursor _cursor;

    public DescriptorChainReader(DescriptorChain chain, IGuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(memory);
        _memory = memory;
        _cursor = new ChainSegmentCursor(chain, writable: false, chain.ReadableLength);
    }

    /// <summary>Starts over at the front of <paramref name="chain"/>, as a new reader would: one reader can serve every request.</summary>
    public void Reset(DescriptorChain chain, IGuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(memory);
        _memory = memory;
        _cursor = new ChainSegmentCursor(chain, writable: false, chain.ReadableLength);
    }

    /// <summary>Total readable bytes.</summary>
    public uint Length => _cursor.Limit;

    /// <summary>Bytes consumed so far (read or skipped).</summary>
    public uint Position => _cursor.Position;

    public uint Remaining => _cursor.Remaining;

    /// <summary>True once a copy failed because guest memory went away under a checked segment; reading stops.</summary>
    public bool Failed => _cursor.Failed;

    /// <summary>Copies up to destination.Length bytes; returns how many (0 at the end or after a failure).</summary>
    public int Read(Span<byte> destination)
    {
        int total = 0;
        while (!destination.IsEmpty && _cursor.TryNext((uint)destination.Length, out var source, out uint chunk))
        {
            if (!_memory.TryRead(source, destination[..(int)chunk]))
            {
                _cursor.Fail();
                break;
            }
            destination = destination[(int)chunk..];
            _cursor.Consume(chunk);
            total += (int)chunk;
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
    public ReadOnlySpan<byte> NextInPlace(uint maxLength) => _cursor.NextInPlace(_memory, maxLength);

    /// <summary>Moves past <paramref name="count"/> bytes of the span <see cref="NextInPlace"/> gave.</summary>
    public void Advance(uint count) => _cursor.Advance(count);

    /// <summary>Moves past up to <paramref name="count"/> bytes without copying them; returns how many.</summary>
    public uint Skip(uint count) => _cursor.Skip(count);
}
