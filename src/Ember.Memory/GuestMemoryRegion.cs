namespace Ember.Memory;

/// <summary>One contiguous run of guest RAM: where it starts in the guest and how long it is.</summary>
public readonly record struct GuestMemoryRegion(GuestAddress Start, ulong Size)
{
    /// <summary>One past the last byte; regions are validated so that this never overflows.</summary>
    public ulong End => Start.Value + Size;

    public bool Contains(GuestAddress address) => address.Value >= Start.Value && address.Value - Start.Value < Size;
}
