namespace Ember.Kvm;

/// <summary>An MMIO exit: for a write, <see cref="Data"/> holds the value; for a read, Ember fills it before the next Run.</summary>
public readonly ref struct MmioExit(ulong address, bool isWrite, Span<byte> data)
{
    public ulong Address { get; } = address;
    public bool IsWrite { get; } = isWrite;
    public Span<byte> Data { get; } = data;
    public int Length => Data.Length;
}
