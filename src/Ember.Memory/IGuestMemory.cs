namespace Ember.Memory;

/// <summary>
/// The guest's physical RAM as devices and loaders see it. Every access is bounds-checked
/// against the regions: an access that is not wholly inside RAM fails cleanly (Try* returns
/// false, the others throw <see cref="GuestMemoryException"/>) and never touches host memory
/// outside the guest's mappings. Reads and writes may cross from one region to the next when
/// the regions are contiguous.
/// </summary>
public interface IGuestMemory
{
    /// <summary>The RAM regions, sorted by guest address, never overlapping.</summary>
    IReadOnlyList<GuestMemoryRegion> Regions { get; }

    /// <summary>Total bytes of RAM over all regions.</summary>
    ulong Size { get; }

    /// <summary>True when [address, address + length) lies wholly inside RAM (possibly across contiguous regions).</summary>
    bool IsValidRange(GuestAddress address, ulong length);

    bool TryRead(GuestAddress address, Span<byte> destination);
    bool TryWrite(GuestAddress address, ReadOnlySpan<byte> source);

    void Read(GuestAddress address, Span<byte> destination);
    void Write(GuestAddress address, ReadOnlySpan<byte> source);

    T ReadObject<T>(GuestAddress address) where T : unmanaged;
    void WriteObject<T>(GuestAddress address, T value) where T : unmanaged;

    /// <summary>
    /// A span over guest RAM for zero-copy I/O. The range must lie inside a single region;
    /// throws <see cref="GuestMemoryException"/> otherwise. The span aliases guest memory,
    /// which the guest may change concurrently: copy before validating what you read.
    /// </summary>
    Span<byte> GetSpan(GuestAddress address, int length);

    /// <summary>
    /// A window over [address, address + length) that can be kept (in a field) and turned into a span on each use,
    /// when the range lies inside a single region and this memory can hand one out; false otherwise, and callers use
    /// the copying accessors instead. It lets a device resolve a fixed area (a virtqueue's rings) once, checked once,
    /// rather than look the address up on every access. Like <see cref="GetSpan"/> it aliases guest memory, which the
    /// guest may change concurrently, and it is valid only as long as the memory (a disposed mapping throws on use).
    /// </summary>
    bool TryGetMemory(GuestAddress address, int length, out Memory<byte> window)
    {
        window = default;
        return false;
    }
}
