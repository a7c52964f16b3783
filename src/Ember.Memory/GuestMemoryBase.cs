using System.Runtime.InteropServices;

namespace Ember.Memory;

/// <summary>
/// All the bounds logic of <see cref="IGuestMemory"/> in one place: region validation,
/// address lookup, overflow-safe range checks and copies that cross contiguous regions.
/// A backing store only has to hand out a span for a range that this class has already
/// proven lies inside one of its regions (<see cref="GetRegionSpan"/>).
/// </summary>
/// <remarks>
/// Every range check is done before any byte moves, so a failed Try* call leaves both guest
/// memory and the caller's buffer untouched (no partial copies). A zero-length access touches
/// no byte and therefore succeeds at any address.
/// </remarks>
public abstract class GuestMemoryBase : IGuestMemory
{
    /// <summary>
    /// The x86 base page size (Intel SDM Vol. 3A §4.3). KVM_SET_USER_MEMORY_REGION needs
    /// guest_phys_addr, memory_size and userspace_addr page-aligned (Linux
    /// Documentation/virt/kvm/api.rst §4.35), so every region is aligned to it.
    /// </summary>
    public const ulong PageSize = 0x1000;

    private readonly GuestMemoryRegion[] _regions;

    /// <summary>Validates and sorts <paramref name="regions"/>.</summary>
    /// <exception cref="ArgumentException">
    /// The list is empty, or a region is empty, not page-aligned, runs past the end of the
    /// 64-bit address space, or overlaps another.
    /// </exception>
    protected GuestMemoryBase(IEnumerable<GuestMemoryRegion> regions)
    {
        ArgumentNullException.ThrowIfNull(regions);
        _regions = GuestMemoryRegionValidator.ValidateAndSort(regions);
        Regions = Array.AsReadOnly(_regions);
        ulong total = 0;
        foreach (var region in _regions)
        {
            // Cannot overflow: the regions are disjoint and each ends below 2^64.
            total += region.Size;
        }
        Size = total;
    }

    public IReadOnlyList<GuestMemoryRegion> Regions { get; }

    public ulong Size { get; }

    /// <summary>
    /// A span over [offset, offset + length) of region <paramref name="regionIndex"/> of
    /// <see cref="Regions"/>. Only called with offset + length ≤ that region's size and
    /// length &gt; 0.
    /// </summary>
    protected abstract Span<byte> GetRegionSpan(int regionIndex, ulong offset, int length);

    /// <summary>
    /// A storable window over the same range as <see cref="GetRegionSpan"/> would give, under the same preconditions
    /// (offset + length ≤ that region's size, length &gt; 0).
    /// </summary>
    protected abstract Memory<byte> GetRegionMemory(int regionIndex, ulong offset, int length);

    public bool IsValidRange(GuestAddress address, ulong length) =>
        length == 0 || TryLocate(address, length, out _);

    public bool TryRead(GuestAddress address, Span<byte> destination)
    {
        if (destination.IsEmpty)
        {
            return true;
        }
        if (!TryLocate(address, (ulong)destination.Length, out int index))
        {
            return false;
        }
        ulong offset = address.Value - _regions[index].Start.Value;
        while (!destination.IsEmpty)
        {
            int chunk = ChunkLength(index, offset, destination.Length);
            GetRegionSpan(index, offset, chunk).CopyTo(destination);
            destination = destination[chunk..];
            index++;
            offset = 0;
        }
        return true;
    }

    public bool TryWrite(GuestAddress address, ReadOnlySpan<byte> source)
    {
        if (source.IsEmpty)
        {
            return true;
        }
        if (!TryLocate(address, (ulong)source.Length, out int index))
        {
            return false;
        }
        ulong offset = address.Value - _regions[index].Start.Value;
        while (!source.IsEmpty)
        {
            int chunk = ChunkLength(index, offset, source.Length);
            source[..chunk].CopyTo(GetRegionSpan(index, offset, chunk));
            source = source[chunk..];
            index++;
            offset = 0;
        }
        return true;
    }

    public void Read(GuestAddress address, Span<byte> destination)
    {
        if (!TryRead(address, destination))
        {
            throw OutsideRam(address, (ulong)destination.Length);
        }
    }

    public void Write(GuestAddress address, ReadOnlySpan<byte> source)
    {
        if (!TryWrite(address, source))
        {
            throw OutsideRam(address, (ulong)source.Length);
        }
    }

    /// <summary>
    /// Reads a <typeparamref name="T"/> byte for byte (host byte order, little-endian on
    /// x86), at any alignment and across contiguous regions.
    /// </summary>
    public T ReadObject<T>(GuestAddress address) where T : unmanaged
    {
        T value = default;
        Read(address, MemoryMarshal.AsBytes(new Span<T>(ref value)));
        return value;
    }

    /// <summary>Writes a <typeparamref name="T"/> byte for byte, at any alignment.</summary>
    public void WriteObject<T>(GuestAddress address, T value) where T : unmanaged =>
        Write(address, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));

    public Span<byte> GetSpan(GuestAddress address, int length)
    {
        if (length < 0)
        {
            throw new GuestMemoryException($"negative span length {length} at guest address {address}");
        }
        if (length == 0)
        {
            return Span<byte>.Empty;
        }
        int index = FindRegion(address);
        if (index < 0)
        {
            throw OutsideRam(address, (ulong)length);
        }
        var region = _regions[index];
        ulong offset = address.Value - region.Start.Value;
        if ((ulong)length > region.Size - offset)
        {
            throw new GuestMemoryException(
                $"guest range {address}+0x{length:x} does not fit in the single region [{region.Start}, 0x{region.End:x})");
        }
        return GetRegionSpan(index, offset, length);
    }

    public bool TryGetMemory(GuestAddress address, int length, out Memory<byte> window)
    {
        window = default;
        if (length <= 0)
        {
            return false;
        }
        int index = FindRegion(address);
        if (index < 0)
        {
            return false;
        }
        var region = _regions[index];
        ulong offset = address.Value - region.Start.Value;
        if ((ulong)length > region.Size - offset)
        {
            return false;
        }
        window = GetRegionMemory(index, offset, length);
        return true;
    }

    /// <summary>
    /// Proves that [address, address + length) (length &gt; 0) lies inside RAM, walking across
    /// regions only where one ends exactly where the next begins; returns the first region.
    /// </summary>
    private bool TryLocate(GuestAddress address, ulong length, out int firstIndex)
    {
        firstIndex = FindRegion(address);
        // The last byte is address + length - 1; overflow of that sum means the range wraps.
        if (firstIndex < 0 || !address.TryAdd(length - 1, out var last))
        {
            return false;
        }
        int index = firstIndex;
        while (last.Value >= _regions[index].End)
        {
            bool nextIsContiguous = index + 1 < _regions.Length && _regions[index + 1].Start.Value == _regions[index].End;
            if (!nextIsContiguous)
            {
                return false;
            }
            index++;
        }
        return true;
    }

    /// <summary>The index of the region containing <paramref name="address"/>, or -1 in a hole.</summary>
    private int FindRegion(GuestAddress address)
    {
        // Binary search for the last region starting at or below the address.
        int low = 0;
        int high = _regions.Length - 1;
        int candidate = -1;
        while (low <= high)
        {
            int middle = low + ((high - low) / 2);
            if (_regions[middle].Start.Value <= address.Value)
            {
                candidate = middle;
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }
        return candidate >= 0 && _regions[candidate].Contains(address) ? candidate : -1;
    }

    private int ChunkLength(int index, ulong offset, int remaining) =>
        (int)Math.Min((ulong)remaining, _regions[index].Size - offset);

    private static GuestMemoryException OutsideRam(GuestAddress address, ulong length) =>
        new($"guest range {address}+0x{length:x} is not wholly inside guest RAM");
}
