using System.Buffers;

namespace Ember.Memory.Interop;

/// <summary>
/// A fixed range of a <see cref="MemoryMapping"/> as a <see cref="Memory{T}"/>, so that a device can keep a window on
/// guest RAM (a virtqueue's rings) in a field. Every use goes through <see cref="MemoryMapping.GetSpan"/>, which checks
/// the range against the mapping again and throws once the mapping is disposed; the window owns nothing.
/// </summary>
internal sealed class MappingWindow : MemoryManager<byte>
{
    private readonly MemoryMapping _mapping;
    private readonly ulong _offset;
    private readonly int _length;

    /// <param name="offset">Where the window starts in the mapping; offset + length must lie inside it (checked on every use).</param>
    public MappingWindow(MemoryMapping mapping, ulong offset, int length)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _mapping = mapping;
        _offset = offset;
        _length = length;
    }

    public override Span<byte> GetSpan() => _mapping.GetSpan(_offset, _length);

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, _length);
        // Checks the window against the mapping (and that it is not disposed) as every other use does.
        _ = GetSpan();
        nint start = _mapping.Pointer;
        unsafe
        {
            // Safe because the mapping's memory is native and never moves, and elementIndex ≤ _length keeps the pointer
            // inside (or one past) the window, which GetSpan checks lies inside the mapping; no pinning is needed.
            return new MemoryHandle((byte*)start + _offset + (nuint)elementIndex);
        }
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}
