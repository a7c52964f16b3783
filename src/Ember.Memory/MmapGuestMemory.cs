using Ember.Memory.Interop;

namespace Ember.Memory;

/// <summary>
/// Guest RAM backed by one anonymous private MAP_NORESERVE mapping per region: the real
/// thing the VMM registers with KVM. Reserving no commit charge means a guest's RAM size
/// costs host memory only for the pages it touches.
/// </summary>
/// <remarks>
/// Dispose only after every vCPU and device thread has stopped: spans from
/// <see cref="GuestMemoryBase.GetSpan"/> and the host addresses handed to KVM alias the
/// mappings and cannot be revoked. Accesses after Dispose throw
/// <see cref="ObjectDisposedException"/>.
/// </remarks>
public sealed class MmapGuestMemory : GuestMemoryBase, IDisposable
{
    private readonly MemoryMapping[] _mappings;

    /// <exception cref="ArgumentException">The region list is invalid (see <see cref="GuestMemoryBase"/>).</exception>
    /// <exception cref="NativeMemoryException">A mapping could not be created.</exception>
    public MmapGuestMemory(IEnumerable<GuestMemoryRegion> regions)
        : base(regions)
    {
        _mappings = new MemoryMapping[Regions.Count];
        var mapped = new MappedRegion[Regions.Count];
        try
        {
            for (int i = 0; i < _mappings.Length; i++)
            {
                var region = Regions[i];
                _mappings[i] = MemoryMapping.Anonymous(region.Size, noReserve: true);
                mapped[i] = new MappedRegion(region.Start, region.Size, _mappings[i].Pointer);
            }
        }
        catch
        {
            DisposeMappings();
            throw;
        }
        MappedRegions = Array.AsReadOnly(mapped);
    }

    /// <summary>Each region with its host address, sorted by guest address, for KVM_SET_USER_MEMORY_REGION.</summary>
    public IReadOnlyList<MappedRegion> MappedRegions { get; }

    /// <summary>Maps the given (start, size) regions; see the constructor.</summary>
    public static MmapGuestMemory Create(params (GuestAddress Start, ulong Size)[] regions) =>
        new(regions.Select(r => new GuestMemoryRegion(r.Start, r.Size)));

    /// <summary>Applies madvise(2) to every region, e.g. <see cref="MemoryAdvice.HugePage"/> or <see cref="MemoryAdvice.DontDump"/>.</summary>
    public void Advise(MemoryAdvice advice)
    {
        foreach (var mapping in _mappings)
        {
            mapping.Advise(advice);
        }
    }

    public void Dispose() => DisposeMappings();

    protected override Span<byte> GetRegionSpan(int regionIndex, ulong offset, int length) =>
        // MemoryMapping bounds-checks again and throws ObjectDisposedException after Dispose.
        _mappings[regionIndex].GetSpan(offset, length);

    protected override Memory<byte> GetRegionMemory(int regionIndex, ulong offset, int length) =>
        new MappingWindow(_mappings[regionIndex], offset, length).Memory;

    private void DisposeMappings()
    {
        foreach (var mapping in _mappings)
        {
            mapping?.Dispose();
        }
    }
}
