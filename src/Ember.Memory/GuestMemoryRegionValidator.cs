namespace Ember.Memory;

/// <summary>
/// Checks a RAM layout before anything is mapped, so that every later bounds check can rely
/// on sorted, disjoint, page-aligned regions whose ends fit in 64 bits.
/// </summary>
internal static class GuestMemoryRegionValidator
{
    /// <summary>Returns the regions sorted by start, or throws <see cref="ArgumentException"/>.</summary>
    internal static GuestMemoryRegion[] ValidateAndSort(IEnumerable<GuestMemoryRegion> regions)
    {
        var sorted = regions.ToArray();
        if (sorted.Length == 0)
        {
            throw new ArgumentException("guest memory needs at least one region", nameof(regions));
        }
        foreach (var region in sorted)
        {
            if (region.Size == 0)
            {
                throw new ArgumentException($"region at {region.Start} is empty", nameof(regions));
            }
            if (region.Start.Value % GuestMemoryBase.PageSize != 0 || region.Size % GuestMemoryBase.PageSize != 0)
            {
                throw new ArgumentException(
                    $"region [{region.Start}, +0x{region.Size:x}) is not aligned to 0x{GuestMemoryBase.PageSize:x}", nameof(regions));
            }
            // GuestMemoryRegion.End relies on this: start + size must not wrap.
            if (!region.Start.TryAdd(region.Size, out _))
            {
                throw new ArgumentException($"region [{region.Start}, +0x{region.Size:x}) runs past the 64-bit address space", nameof(regions));
            }
        }
        Array.Sort(sorted, static (a, b) => a.Start.CompareTo(b.Start));
        for (int i = 1; i < sorted.Length; i++)
        {
            if (sorted[i].Start.Value < sorted[i - 1].End)
            {
                throw new ArgumentException(
                    $"region at {sorted[i].Start} overlaps region [{sorted[i - 1].Start}, 0x{sorted[i - 1].End:x})", nameof(regions));
            }
        }
        return sorted;
    }
}
