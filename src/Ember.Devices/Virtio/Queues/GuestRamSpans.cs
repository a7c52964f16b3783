using Ember.Memory;

namespace Ember.Devices.Virtio.Queues;

/// <summary>Spans over guest RAM for zero-copy I/O, cut where a memory region ends so that getting one never throws.</summary>
internal static class GuestRamSpans
{
    /// <summary>
    /// The longest prefix (at most <paramref name="length"/> bytes, at most int.MaxValue) of [address, address + length)
    /// that lies inside one memory region, as a span aliasing guest RAM; empty when the address is not in RAM.
    /// </summary>
    public static Span<byte> InOneRegion(IGuestMemory memory, GuestAddress address, uint length)
    {
        var regions = memory.Regions;
        for (int i = 0; i < regions.Count; i++)
        {
            var region = regions[i];
            if (!region.Contains(address))
                continue;
            ulong inRegion = region.End - address.Value;
            int count = (int)Math.Min(Math.Min(length, inRegion), int.MaxValue);
            return memory.GetSpan(address, count);
        }
        return [];
    }
}
