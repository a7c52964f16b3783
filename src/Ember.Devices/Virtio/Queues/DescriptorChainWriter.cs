using Ember.Memory;

namespace Ember.Devices.Virtio.Queues;

/// <summary>
/// Writes the device-writable part of a chain front to back, copying into guest memory (no span into
/// guest RAM outlives a call), with an optional cap below the chain's own writable length. It counts the
/// bytes it actually wrote, which is what the device reports as the used length.
/// </summary>
public sealed class DescriptorChainWriter
{
    private IGuestMemory _memory;
    private ChainSegmentCursor _cursor;

    /// <param name="limit">The most bytes this writer will cover, counted from the start of the writable part.</param>
    public DescriptorChainWriter(DescriptorChain chain, IGuestMemory memory, uint limit = uint.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(memory);
        _memory = memory;
        _cursor = new ChainSegmentCursor(chain, writable: true, Math.Min(chain.WritableLength, limit));
    }

    /// <summary>Starts over at the front of <paramref name="chain"/>'s writable part, as a new writer would (nothing written yet): one writer can serve every request.</summary>
    public void Reset(DescriptorChain chain, IGuestMemory memory, uint limit = uint.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(memory);
        _memory = memory;
        _cursor = new ChainSegmentCursor(chain, writable: true, Math.Min(chain.WritableLength, limit));
        BytesWritten = 0;
    }

    /// <summary>Writable bytes this writer covers: the chain's, or the cap if lower.</summary>
    public uint Capacity => _cursor.Limit;

    /// <summary>Bytes passed so far (written or skipped).</summary>
    public uint Position => _cursor.Position;

    public uint Remaining => _cursor.Remaining;

    /// <summary>Bytes actually stored into guest memory.</summary>
    public uint BytesWritten { get; private set; }

    /// <summary>True once a copy failed because guest memory went away under a checked segment; writing stops.</summary>
    public bool Failed => _cursor.Failed;

    /// <summary>Copies as much of <paramref name="source"/> as fits; returns how many bytes were written.</summary>
    public int Write(ReadOnlySpan<byte> source)
    {
        if ((uint)source.Length > Remaining)
            source = source[..(int)Remaining];
        int total = 0;
        while (!source.IsEmpty && _cursor.TryNext((uint)source.Length, out var destination, out uint chunk))
        {
            if (!_memory.TryWrite(destination, source[..(int)chunk]))
            {
                _cursor.Fail();
                break;
            }
            source = source[(int)chunk..];
            _cursor.Consume(chunk);
            BytesWritten += chunk;
            total += (int)chunk;
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
    public Span<byte> NextInPlace(uint maxLength) => _cursor.NextInPlace(_memory, maxLength);

    /// <summary>Moves past <paramref name="count"/> bytes of the span <see cref="NextInPlace"/> gave, counting them as written.</summary>
    public void Advance(uint count) => BytesWritten += _cursor.Advance(count);

    /// <summary>Moves past up to <paramref name="count"/> bytes, leaving them as the driver wrote them; returns how many.</summary>
    public uint Skip(uint count) => _cursor.Skip(count);
}
