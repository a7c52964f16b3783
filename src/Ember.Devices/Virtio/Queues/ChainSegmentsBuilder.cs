using Ember.Memory;

namespace Ember.Devices.Virtio.Queues;

/// <summary>
/// Collects a chain's buffers into a <see cref="DescriptorChain"/> with the checks every ring kind shares: each inside
/// RAM, device-readable ones before device-writable ones (virtio 1.2 §2.7.4.2, §2.8.18), and a total below 2^32.
/// </summary>
/// <remarks>A mutable struct kept in a local of the walk (never copied), so building a chain allocates nothing.</remarks>
internal struct ChainSegmentsBuilder
{
    private readonly IGuestMemory _memory;
    private readonly DescriptorChain _chain;
    private int _readableCount;
    private ulong _readable;
    private ulong _writable;

    /// <summary>Starts <paramref name="chain"/> over (no segments) for the buffer <paramref name="headIndex"/>.</summary>
    public ChainSegmentsBuilder(IGuestMemory memory, DescriptorChain chain, ushort headIndex)
    {
        _memory = memory;
        _chain = chain;
        chain.Begin(headIndex);
    }

    public ChainFault Add(GuestAddress address, uint length, bool isWritable)
    {
        if (!isWritable && _chain.Count > _readableCount)
            return ChainFault.ReadableAfterWritable;
        if (!_memory.IsValidRange(address, length))
            return ChainFault.BufferOutsideRam;
        // Both sums stay below 2^33, so ulong arithmetic cannot overflow before the check.
        if (_readable + _writable + length > uint.MaxValue)
            return ChainFault.TotalLengthTooLarge;
        _chain.Add(new ChainSegment(address, length, isWritable));
        if (isWritable)
        {
            _writable += length;
        }
        else
        {
            _readableCount++;
            _readable += length;
        }
        return ChainFault.None;
    }

    /// <summary>The chain with every segment added so far.</summary>
    public readonly DescriptorChain Build()
    {
        _chain.Complete(_readableCount, (uint)_readable, (uint)_writable);
        return _chain;
    }

    /// <summary>The chain as malformed: its segments dropped, only the fault and the head kept.</summary>
    public readonly DescriptorChain Fail(ChainFault fault) => _chain.SetFault(_chain.HeadIndex, fault);
}
