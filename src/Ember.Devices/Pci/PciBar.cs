namespace Ember.Devices.Pci;

/// <summary>
/// The shape of one Base Address Register: what it decodes, how large the region is and whether it is
/// prefetchable (PCI Local Bus 3.0 §6.2.5.1). Sizes are powers of two, at least 16 bytes for memory and
/// 4 for I/O; an I/O BAR is at most 256 bytes and a 32-bit memory BAR at most 2 GiB, as the spec allows.
/// </summary>
public readonly record struct PciBar
{
    /// <summary>The smallest memory BAR: bits 3:0 of a memory BAR are its type bits.</summary>
    public const ulong MinimumMemorySize = 16;

    /// <summary>The smallest I/O BAR: bits 1:0 of an I/O BAR are its type bits.</summary>
    public const ulong MinimumIoSize = 4;

    /// <summary>§6.2.5.1: a function must not ask for more than 256 bytes per I/O BAR.</summary>
    public const ulong MaximumIoSize = 256;

    /// <summary>Bit 31 is the highest address bit of a 32-bit memory BAR.</summary>
    public const ulong MaximumMemory32Size = 1UL << 31;

    /// <summary>Bit 63 is the highest address bit of a 64-bit memory BAR.</summary>
    public const ulong MaximumMemory64Size = 1UL << 63;

    public PciBarKind Kind { get; }
    public ulong Size { get; }
    public bool Prefetchable { get; }

    private PciBar(PciBarKind kind, ulong size, bool prefetchable)
    {
        (ulong minimum, ulong maximum) = kind switch
        {
            PciBarKind.Memory32 => (MinimumMemorySize, MaximumMemory32Size),
            PciBarKind.Memory64 => (MinimumMemorySize, MaximumMemory64Size),
            PciBarKind.Io => (MinimumIoSize, MaximumIoSize),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown BAR kind"),
        };
        if (!ulong.IsPow2(size) || size < minimum || size > maximum)
            throw new ArgumentOutOfRangeException(nameof(size), size,
                $"a {kind} BAR is a power of two from {minimum} to 0x{maximum:x} bytes");
        if (prefetchable && kind == PciBarKind.Io)
            throw new ArgumentException("an I/O BAR cannot be prefetchable", nameof(prefetchable));
        Kind = kind;
        Size = size;
        Prefetchable = prefetchable;
    }

    public static PciBar Memory32(ulong size, bool prefetchable = false) => new(PciBarKind.Memory32, size, prefetchable);

    public static PciBar Memory64(ulong size, bool prefetchable = false) => new(PciBarKind.Memory64, size, prefetchable);

    public static PciBar Io(ulong size) => new(PciBarKind.Io, size, false);

    /// <summary>True for the memory kinds, which the Memory Space command bit gates.</summary>
    public bool IsMemory => Kind != PciBarKind.Io;

    /// <summary>How many BAR slots (dwords) the register takes: two for a 64-bit BAR.</summary>
    public int Slots => Kind == PciBarKind.Memory64 ? 2 : 1;

    /// <summary>The read-only low bits of the register: the space indicator, type and prefetchable bits.</summary>
    internal uint TypeBits => Kind switch
    {
        PciBarKind.Io => 0b01,
        PciBarKind.Memory64 => 0b100 | (Prefetchable ? 0b1000u : 0),
        _ => Prefetchable ? 0b1000u : 0,
    };

    /// <summary>
    /// The bits of the (up to 64-bit) register the guest can write: the address bits above the size. That
    /// is what makes size probing work: write all ones, and the register reads back the size mask.
    /// I/O BARs decode 16 bits, so their upper half is hardwired to zero.
    /// </summary>
    internal ulong AddressMask => Kind switch
    {
        PciBarKind.Io => ~(Size - 1) & 0xFFFC,
        PciBarKind.Memory32 => ~(Size - 1) & 0xFFFF_FFF0,
        _ => ~(Size - 1) & ~0xFUL,
    };
}
