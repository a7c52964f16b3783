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
