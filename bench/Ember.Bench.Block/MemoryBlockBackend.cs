using Ember.Devices.Virtio.Block;

namespace Ember.Bench.Block;

/// <summary>A disk in a managed array: with it the device path costs only the device's own work, which shows its overhead apart from the system calls.</summary>
public sealed class MemoryBlockBackend(int length) : IBlockBackend
{
    private readonly byte[] _bytes = new byte[length];

    public ulong Length => (ulong)_bytes.Length;

    public bool IsReadOnly => false;

    public void Read(ulong offset, Span<byte> destination) => _bytes.AsSpan((int)offset, destination.Length).CopyTo(destination);

    public void Write(ulong offset, ReadOnlySpan<byte> source) => source.CopyTo(_bytes.AsSpan((int)offset));

    public void Flush()
    {
    }

    public void Discard(ulong offset, ulong length)
    {
    }

    public void WriteZeroes(ulong offset, ulong length, bool mayDeallocate) => _bytes.AsSpan((int)offset, (int)length).Clear();
}
