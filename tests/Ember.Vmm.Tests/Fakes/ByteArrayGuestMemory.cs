using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Ember.Memory;

namespace Ember.Vmm.Tests.Fakes;

/// <summary>
/// In-test guest memory: the given regions backed by 4 KiB byte arrays allocated on first
/// non-zero write, so a "5 GiB" guest costs only the pages a loader touches. Bounds checks
/// follow the IGuestMemory contract (whole range inside RAM, contiguous regions may be crossed).
/// </summary>
internal sealed class ByteArrayGuestMemory : IGuestMemory
{
    private const int PageSize = 4096;
    private readonly GuestMemoryRegion[] _regions;
    private readonly Dictionary<ulong, byte[]> _pages = [];

    public ByteArrayGuestMemory(IReadOnlyList<GuestMemoryRegion> regions)
    {
        _regions = [.. regions.OrderBy(r => r.Start.Value)];
        Size = (ulong)_regions.Sum(r => (decimal)r.Size);
    }

    /// <summary>RAM laid out as the VMM does for <paramref name="memorySize"/> bytes.</summary>
    public static ByteArrayGuestMemory WithLayout(ulong memorySize) => new(Layout.RamRegions(memorySize));

    public IReadOnlyList<GuestMemoryRegion> Regions => _regions;

    public ulong Size { get; }

    public int AllocatedPages => _pages.Count;

    public bool IsValidRange(GuestAddress address, ulong length)
    {
        if (length > ulong.MaxValue - address.Value)
        {
            return false;
        }
        ulong current = address.Value;
        ulong remaining = length;
        while (remaining > 0)
        {
            var region = _regions.FirstOrDefault(r => r.Contains(new GuestAddress(current)));
            if (region.Size == 0)
            {
                return false;
            }
            ulong take = Math.Min(remaining, region.End - current);
            current += take;
            remaining -= take;
        }
        return length > 0 || _regions.Any(r => r.Contains(address) || r.End == address.Value);
    }

    public bool TryRead(GuestAddress address, Span<byte> destination)
    {
        if (!IsValidRange(address, (ulong)destination.Length))
        {
            return false;
        }
        ulong current = address.Value;
        int done = 0;
        while (done < destination.Length)
        {
            ulong page = current / PageSize;
            int offset = (int)(current % PageSize);
            int chunk = Math.Min(PageSize - offset, destination.Length - done);
            if (_pages.TryGetValue(page, out var bytes))
            {
                bytes.AsSpan(offset, chunk).CopyTo(destination.Slice(done, chunk));
            }
            else
            {
                destination.Slice(done, chunk).Clear();
            }
            done += chunk;
            current += (ulong)chunk;
        }
        return true;
    }

    public bool TryWrite(GuestAddress address, ReadOnlySpan<byte> source)
    {
        if (!IsValidRange(address, (ulong)source.Length))
        {
            return false;
        }
        ulong current = address.Value;
        int done = 0;
        while (done < source.Length)
        {
            ulong page = current / PageSize;
            int offset = (int)(current % PageSize);
            int chunk = Math.Min(PageSize - offset, source.Length - done);
            var part = source.Slice(done, chunk);
            if (_pages.TryGetValue(page, out var bytes))
            {
                part.CopyTo(bytes.AsSpan(offset));
            }
            else if (part.ContainsAnyExcept((byte)0))
            {
                bytes = new byte[PageSize];
                part.CopyTo(bytes.AsSpan(offset));
                _pages[page] = bytes;
            }
            done += chunk;
            current += (ulong)chunk;
        }
        return true;
    }

    public void Read(GuestAddress address, Span<byte> destination)
    {
        if (!TryRead(address, destination))
        {
            throw new GuestMemoryException($"read of {destination.Length} bytes at {address} is outside guest RAM");
        }
    }

    public void Write(GuestAddress address, ReadOnlySpan<byte> source)
    {
        if (!TryWrite(address, source))
        {
            throw new GuestMemoryException($"write of {source.Length} bytes at {address} is outside guest RAM");
        }
    }

    public T ReadObject<T>(GuestAddress address) where T : unmanaged
    {
        Span<byte> buffer = stackalloc byte[Unsafe.SizeOf<T>()];
        Read(address, buffer);
        return MemoryMarshal.Read<T>(buffer);
    }

    public void WriteObject<T>(GuestAddress address, T value) where T : unmanaged
    {
        Span<byte> buffer = stackalloc byte[Unsafe.SizeOf<T>()];
        MemoryMarshal.Write(buffer, in value);
        Write(address, buffer);
    }

    /// <summary>Only spans within one page are supported by this sparse fake.</summary>
    public Span<byte> GetSpan(GuestAddress address, int length)
    {
        ulong page = address.Value / PageSize;
        int offset = (int)(address.Value % PageSize);
        if (length < 0 || offset + length > PageSize || !IsValidRange(address, (ulong)length))
        {
            throw new GuestMemoryException($"span of {length} bytes at {address} is not inside one page of RAM");
        }
        if (!_pages.TryGetValue(page, out var bytes))
        {
            bytes = new byte[PageSize];
            _pages[page] = bytes;
        }
        return bytes.AsSpan(offset, length);
    }

    // ---- Test conveniences ----

    public byte[] ReadBytes(ulong address, int length)
    {
        var bytes = new byte[length];
        Read(new GuestAddress(address), bytes);
        return bytes;
    }

    public byte ReadByte(ulong address) => ReadBytes(address, 1)[0];
    public ushort ReadUInt16(ulong address) => BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(address, 2));
    public uint ReadUInt32(ulong address) => BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(address, 4));
    public ulong ReadUInt64(ulong address) => BinaryPrimitives.ReadUInt64LittleEndian(ReadBytes(address, 8));

    /// <summary>The NUL-terminated ASCII string at <paramref name="address"/> (at most 64 KiB).</summary>
    public string ReadCString(ulong address)
    {
        var bytes = new List<byte>();
        for (ulong a = address; bytes.Count < 0x10000; a++)
        {
            byte b = ReadByte(a);
            if (b == 0)
            {
                break;
            }
            bytes.Add(b);
        }
        return System.Text.Encoding.UTF8.GetString([.. bytes]);
    }
}
