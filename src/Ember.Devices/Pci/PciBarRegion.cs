using Ember.Devices.Bus;

namespace Ember.Devices.Pci;

/// <summary>
/// A BAR's region made of parts at fixed offsets (a virtio-pci BAR: common configuration, notify, ISR,
/// device configuration, MSI-X table and PBA). Each part sees offsets relative to its own start. An
/// access that falls in a gap, or runs from one part into another, reads zero and is dropped.
/// </summary>
public sealed class PciBarRegion : IBusDevice
{
    private readonly DeviceBus _parts = new();

    public PciBarRegion(ulong size)
    {
        ArgumentOutOfRangeException.ThrowIfZero(size);
        Size = size;
    }

    public ulong Size { get; }

    /// <summary>Serves [offset, offset + length) of the BAR with <paramref name="part"/>.</summary>
    public void Add(ulong offset, ulong length, IBusDevice part)
    {
        ArgumentNullException.ThrowIfNull(part);
        if (length == 0 || offset >= Size || length > Size - offset)
            throw new ArgumentOutOfRangeException(nameof(offset), offset,
                $"part 0x{offset:x}+0x{length:x} does not fit in a 0x{Size:x}-byte BAR");
        _parts.Register(offset, length, part);
    }

    public void Read(ulong offset, Span<byte> data)
    {
        if (_parts.TryFind(offset, data.Length, out var part, out ulong partOffset))
            part.Read(partOffset, data);
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (_parts.TryFind(offset, data.Length, out var part, out ulong partOffset))
            part.Write(partOffset, data);
    }
}
