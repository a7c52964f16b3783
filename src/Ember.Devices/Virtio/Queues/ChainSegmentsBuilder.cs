using Ember.Memory;

namespace Ember.Devices.Virtio.Queues;

/// <summary>
/// Collects a chain's buffers with the checks every ring kind shares: each inside RAM, device-readable ones before
/// device-writable ones (virtio 1.2 §2.7.4.2, §2.8.18), and a total below 2^32.
/// </summary>
internal sealed class ChainSegmentsBuilder(IGuestMemory memory)
{
    private readonly List<ChainSegment> _segments = [];
    private int _readableCount;
    private ulong _readable;
    private ulong _writable;

    public ChainFault Add(GuestAddress address, uint length, bool isWritable)
    {
        if (!isWritable && _segments.Count > _readableCount)
            return ChainFault.ReadableAfterWritable;
        if (!memory.IsValidRange(address, length))
            return ChainFault.BufferOutsideRam;
        // Both sums stay below 2^33, so ulong arithmetic cannot overflow before the check.
        if (_readable + _writable + length > uint.MaxValue)
            return ChainFault.TotalLengthTooLarge;
        _segments.Add(new ChainSegment(address, length, isWritable));
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

    public DescriptorChain Build(ushort headIndex) =>
        new(headIndex, [.. _segments], _readableCount, (uint)_readable, (uint)_writable);
}
