namespace Ember.Memory;

/// <summary>
/// Guest RAM backed by a managed byte array per region, with exactly the bounds semantics of
/// <see cref="MmapGuestMemory"/> (both share <see cref="GuestMemoryBase"/>). For device unit
/// tests: no native memory, nothing to dispose. Regions are limited to
/// <see cref="Array.MaxLength"/> bytes each.
/// </summary>
public sealed class ArrayGuestMemory : GuestMemoryBase
{
    private readonly byte[][] _buffers;

    /// <exception cref="ArgumentException">The region list is invalid, or a region is too big for an array.</exception>
    public ArrayGuestMemory(IEnumerable<GuestMemoryRegion> regions)
        : base(regions)
    {
        _buffers = new byte[Regions.Count][];
        for (int i = 0; i < _buffers.Length; i++)
        {
            var region = Regions[i];
            if (region.Size > (ulong)Array.MaxLength)
            {
                throw new ArgumentException($"region at {region.Start} of 0x{region.Size:x} bytes is too big for an array", nameof(regions));
            }
            _buffers[i] = new byte[region.Size];
        }
    }

    /// <summary>Allocates the given (start, size) regions; see the constructor.</summary>
    public static ArrayGuestMemory Create(params (GuestAddress Start, ulong Size)[] regions) =>
        new(regions.Select(r => new GuestMemoryRegion(r.Start, r.Size)));

    protected override Span<byte> GetRegionSpan(int regionIndex, ulong offset, int length) =>
        _buffers[regionIndex].AsSpan(checked((int)offset), length);

    protected override Memory<byte> GetRegionMemory(int regionIndex, ulong offset, int length) =>
        _buffers[regionIndex].AsMemory(checked((int)offset), length);
}
