namespace Ember.Memory;

/// <summary>
/// A guest physical address. A distinct type so that host pointers, offsets and guest
/// addresses cannot be mixed up silently; arithmetic is checked so that a guest-provided
/// address plus a length never wraps around.
/// </summary>
public readonly record struct GuestAddress(ulong Value) : IComparable<GuestAddress>
{
    public static readonly GuestAddress Zero = new(0);

    /// <summary>Adds an offset, or returns false when the sum overflows 64 bits.</summary>
    public bool TryAdd(ulong offset, out GuestAddress result)
    {
        ulong sum = Value + offset;
        if (sum < Value)
        {
            result = default;
            return false;
        }
        result = new GuestAddress(sum);
        return true;
    }

    /// <summary>Adds an offset; throws <see cref="GuestMemoryException"/> on overflow.</summary>
    public GuestAddress Add(ulong offset) =>
        TryAdd(offset, out var result) ? result : throw new GuestMemoryException($"guest address 0x{Value:x} + 0x{offset:x} overflows");

    public int CompareTo(GuestAddress other) => Value.CompareTo(other.Value);

    public static bool operator <(GuestAddress a, GuestAddress b) => a.Value < b.Value;
    public static bool operator >(GuestAddress a, GuestAddress b) => a.Value > b.Value;
    public static bool operator <=(GuestAddress a, GuestAddress b) => a.Value <= b.Value;
    public static bool operator >=(GuestAddress a, GuestAddress b) => a.Value >= b.Value;

    public override string ToString() => $"0x{Value:x}";
}
