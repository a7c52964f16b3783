using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Ember.Memory;

namespace Ember.Devices.Virtio.Queues;

/// <summary>
/// One area of a virtqueue (descriptor table, driver area, device area, or an indirect table) already checked to lie
/// inside RAM, accessed by offsets into it. Where the area lies in one memory region, its window on guest RAM is
/// resolved once, when the area is made, so a ring access is a bounds check against the area and a load or store,
/// not a region lookup per access; an area across two (contiguous) regions, or a memory without windows, goes through
/// <see cref="IGuestMemory"/> on every access as before. Both paths check every access against the area's length, so
/// a wrong offset fails (false) rather than reaching past the area.
/// </summary>
/// <remarks>
/// Index fields (avail idx, used idx, the event fields) are 2-byte aligned 16-bit loads and stores with acquire or
/// release semantics, so they cannot tear and order the entries they cover. The window aliases memory the driver
/// writes concurrently: callers copy what they read into locals once and check the copy.
/// </remarks>
internal readonly struct RingArea
{
    private readonly IGuestMemory _memory;
    private readonly GuestAddress _start;
    private readonly ulong _length;
    private readonly Memory<byte> _window;

    /// <param name="length">The area's size; [start, start + length) must have been checked to lie inside RAM.</param>
    public RingArea(IGuestMemory memory, GuestAddress start, ulong length)
    {
        _memory = memory;
        _start = start;
        _length = length;
        if (length <= int.MaxValue && memory.TryGetMemory(start, (int)length, out var window))
            _window = window;
    }

    /// <summary>One 16-bit load with acquire semantics: later reads of what the field covers are not hoisted above it.</summary>
    public bool TryLoadAcquire(ulong offset, out ushort value)
    {
        value = 0;
        if (!InArea(offset, sizeof(ushort)))
            return false;
        if (!_window.IsEmpty)
        {
            ushort raw = Volatile.Read(ref MemoryMarshal.AsRef<ushort>(_window.Span.Slice((int)offset, sizeof(ushort))));
            value = BitConverter.IsLittleEndian ? raw : BinaryPrimitives.ReverseEndianness(raw);
            return true;
        }
        return RingField.TryLoadAcquire(_memory, _start, offset, out value);
    }

    /// <summary>One 16-bit store with release semantics: everything written before it is visible first.</summary>
    public bool TryStoreRelease(ulong offset, ushort value)
    {
        if (!InArea(offset, sizeof(ushort)))
            return false;
        if (!_window.IsEmpty)
        {
            Volatile.Write(
                ref MemoryMarshal.AsRef<ushort>(_window.Span.Slice((int)offset, sizeof(ushort))),
                BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value));
            return true;
        }
        return RingField.TryStoreRelease(_memory, _start, offset, value);
    }

    /// <summary>Copies destination.Length bytes from <paramref name="offset"/>; false (nothing copied) when they are not all inside the area.</summary>
    public bool TryRead(ulong offset, Span<byte> destination)
    {
        if (!InArea(offset, (ulong)destination.Length))
            return false;
        if (!_window.IsEmpty)
        {
            _window.Span.Slice((int)offset, destination.Length).CopyTo(destination);
            return true;
        }
        return _memory.TryRead(new GuestAddress(_start.Value + offset), destination);
    }

    /// <summary>Copies <paramref name="source"/> to <paramref name="offset"/>; false (nothing written) when it does not fit inside the area.</summary>
    public bool TryWrite(ulong offset, ReadOnlySpan<byte> source)
    {
        if (!InArea(offset, (ulong)source.Length))
            return false;
        if (!_window.IsEmpty)
        {
            source.CopyTo(_window.Span.Slice((int)offset, source.Length));
            return true;
        }
        return _memory.TryWrite(new GuestAddress(_start.Value + offset), source);
    }

    /// <summary>[offset, offset + count) inside the area, without overflow; start + offset then cannot wrap (the area is in RAM).</summary>
    private bool InArea(ulong offset, ulong count) => count <= _length && offset <= _length - count;
}
