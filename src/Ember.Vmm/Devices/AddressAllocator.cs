namespace Ember.Vmm.Devices;

/// <summary>
/// Hands out non-overlapping, aligned ranges of one address space (port I/O, the 32-bit MMIO hole, the
/// 64-bit MMIO window): first fit from the bottom, ranges can be reserved up front (what the platform
/// itself occupies) and freed again (a device that goes away, a BAR the guest moves). Sizes and
/// alignments are checked, never trusted: a PCI BAR size comes from a device model, a GSI count from
/// a configuration, and none of them may wrap the address space.
/// </summary>
public sealed class AddressAllocator
{
    private readonly SortedDictionary<ulong, ulong> _used = [];   // start -> size
    private readonly Lock _gate = new();

    /// <param name="name">What the space is, for error messages ("PCI MMIO32").</param>
    /// <param name="start">First address of the space.</param>
    /// <param name="size">Its size in bytes (or ports, or GSIs); start + size must not wrap.</param>
    public AddressAllocator(string name, ulong start, ulong size)
    {
        ArgumentOutOfRangeException.ThrowIfZero(size);
        if (start + size < start && start + size != 0)
            throw new ArgumentOutOfRangeException(nameof(size), $"{name}: 0x{start:x} + 0x{size:x} wraps the address space");
        Name = name;
        Start = start;
        Size = size;
    }

    public string Name { get; }
    public ulong Start { get; }
    public ulong Size { get; }

    /// <summary>The last address of the space (inclusive), which may be <see cref="ulong.MaxValue"/>.</summary>
    public ulong Last => Start + (Size - 1);

    /// <summary>
    /// A free range of <paramref name="size"/> aligned to <paramref name="alignment"/> (a power of two),
    /// the lowest that fits. Throws <see cref="ResourceExhaustedException"/> when none does.
    /// </summary>
    public ulong Allocate(ulong size, ulong alignment = 1)
    {
        lock (_gate)
        {
            ulong start = LowestFree(size, alignment)
                ?? throw new ResourceExhaustedException($"{Name}: no free 0x{size:x}-byte range aligned to 0x{alignment:x} in 0x{Start:x}-0x{Last:x}");
            _used.Add(start, size);
            return start;
        }
    }

    /// <summary>
    /// Where <see cref="Allocate"/> would put <paramref name="size"/> now, without taking it; null when nothing fits.
    /// (A PCI function's INTx input is built for its slot before the function is added there.)
    /// </summary>
    public ulong? NextFree(ulong size, ulong alignment = 1)
    {
        lock (_gate)
            return LowestFree(size, alignment);
    }

    /// <summary>Whether any address of [start, start + size) lies in this space (a fixed device the allocator must know about).</summary>
    public bool Intersects(ulong start, ulong size)
    {
        ArgumentOutOfRangeException.ThrowIfZero(size);
        ulong end = start + (size - 1) < start ? ulong.MaxValue : start + (size - 1);
        return start <= Last && Start <= end;
    }

    /// <summary>Takes a fixed range (a device at a fixed address). Throws when it is outside the space or in use.</summary>
    public void Reserve(ulong start, ulong size)
    {
        Check(size, 1);
        lock (_gate)
        {
            if (!InSpace(start, size))
                throw new ArgumentOutOfRangeException(nameof(start), $"{Name}: 0x{start:x} (+0x{size:x}) is outside 0x{Start:x}-0x{Last:x}");
            if (Overlapping(start, size) is { } other)
                throw new InvalidOperationException($"{Name}: 0x{start:x}-0x{start + (size - 1):x} overlaps 0x{other.Start:x}-0x{other.Start + (other.Size - 1):x}, which is in use");
            _used.Add(start, size);
        }
    }

    /// <summary>Gives back a range that <see cref="Allocate"/> or <see cref="Reserve"/> handed out.</summary>
    public void Free(ulong start)
    {
        lock (_gate)
        {
            if (!_used.Remove(start))
                throw new InvalidOperationException($"{Name}: nothing was allocated at 0x{start:x}");
        }
    }

    /// <summary>The ranges in use, lowest first.</summary>
    public IReadOnlyList<(ulong Start, ulong Size)> Used
    {
        get { lock (_gate) return [.. _used.Select(u => (u.Key, u.Value))]; }
    }

    /// <summary>The lowest aligned start of a free range of <paramref name="size"/>; null when none fits. Call under the gate.</summary>
    private ulong? LowestFree(ulong size, ulong alignment)
    {
        Check(size, alignment);
        ulong candidate = AlignUp(Start, alignment, out bool overflow);
        foreach (var (usedStart, usedSize) in _used)
        {
            ulong usedEnd = usedStart + (usedSize - 1);
            if (overflow || usedEnd < candidate)
                continue;
            if (usedStart > candidate && usedStart - candidate >= size)
                break;   // the gap below this range is big enough
            if (usedEnd == ulong.MaxValue)
            {
                overflow = true;
                break;
            }
            candidate = AlignUp(usedEnd + 1, alignment, out overflow);
        }
        return overflow || !InSpace(candidate, size) ? null : candidate;
    }

    private static void Check(ulong size, ulong alignment)
    {
        ArgumentOutOfRangeException.ThrowIfZero(size);
        if (alignment == 0 || (alignment & (alignment - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(alignment), $"alignment 0x{alignment:x} is not a power of two");
    }

    private bool InSpace(ulong start, ulong size) =>
        start >= Start && start <= Last && size - 1 <= Last - start;

    private (ulong Start, ulong Size)? Overlapping(ulong start, ulong size)
    {
        ulong end = start + (size - 1);
        foreach (var (usedStart, usedSize) in _used)
        {
            ulong usedEnd = usedStart + (usedSize - 1);
            if (usedStart <= end && start <= usedEnd)
                return (usedStart, usedSize);
        }
        return null;
    }

    private static ulong AlignUp(ulong value, ulong alignment, out bool overflow)
    {
        ulong mask = alignment - 1;
        overflow = value > ulong.MaxValue - mask;
        return overflow ? 0 : (value + mask) & ~mask;
    }
}
