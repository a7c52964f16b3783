namespace Ember.Vmm.Boot;

/// <summary>
/// A segment register's hidden part and selector, in the same terms KVM's kvm_segment uses,
/// plus the packing into an 8-byte GDT descriptor (Intel SDM vol. 3 §3.4.5, figure 3-8).
/// </summary>
/// <param name="Selector">GDT index times 8 (TI = 0, RPL = 0).</param>
/// <param name="Base">Segment base.</param>
/// <param name="Limit">Effective limit in bytes (0xFFFFFFFF for a flat 4 GiB segment with G = 1).</param>
/// <param name="Type">The 4-bit type field (e.g. 0xB execute/read accessed code, 0x3 read/write accessed data, 0xB busy TSS).</param>
/// <param name="Present">P.</param>
/// <param name="Dpl">Descriptor privilege level, 0-3.</param>
/// <param name="DefaultBig">D/B: 32-bit default operand size (must be 0 for a 64-bit code segment).</param>
/// <param name="CodeOrData">S: code/data segment (true) versus system segment such as a TSS (false).</param>
/// <param name="Long">L: 64-bit code segment.</param>
/// <param name="Granularity">G: limit counted in 4 KiB units.</param>
/// <param name="Available">AVL, free for software.</param>
public readonly record struct SegmentDescriptor(
    ushort Selector,
    ulong Base,
    uint Limit,
    byte Type,
    bool Present,
    byte Dpl,
    bool DefaultBig,
    bool CodeOrData,
    bool Long,
    bool Granularity,
    bool Available)
{
    /// <summary>Type: execute/read code, accessed.</summary>
    public const byte TypeCodeExecuteReadAccessed = 0xB;

    /// <summary>Type: read/write data, accessed.</summary>
    public const byte TypeDataReadWriteAccessed = 0x3;

    /// <summary>System type: busy 32-bit TSS (also "busy 64-bit TSS" in IA-32e mode).</summary>
    public const byte TypeBusyTss = 0xB;

    /// <summary>Minimum TSS limit (104-byte 32-bit TSS minus one), as PVH specifies for TR.</summary>
    public const uint MinimumTssLimit = 0x67;

    /// <summary>A flat 64-bit code segment (L = 1, D = 0).</summary>
    public static SegmentDescriptor FlatCode64(ushort selector) =>
        new(selector, 0, uint.MaxValue, TypeCodeExecuteReadAccessed, Present: true, Dpl: 0,
            DefaultBig: false, CodeOrData: true, Long: true, Granularity: true, Available: false);

    /// <summary>A flat 32-bit code segment, base 0, limit 4 GiB (PVH/Multiboot "32-bit read/execute code segment").</summary>
    public static SegmentDescriptor FlatCode32(ushort selector) =>
        new(selector, 0, uint.MaxValue, TypeCodeExecuteReadAccessed, Present: true, Dpl: 0,
            DefaultBig: true, CodeOrData: true, Long: false, Granularity: true, Available: false);

    /// <summary>A flat 32-bit read/write data segment, base 0, limit 4 GiB.</summary>
    public static SegmentDescriptor FlatData(ushort selector) =>
        new(selector, 0, uint.MaxValue, TypeDataReadWriteAccessed, Present: true, Dpl: 0,
            DefaultBig: true, CodeOrData: true, Long: false, Granularity: true, Available: false);

    /// <summary>A busy TSS at base 0 with the minimum limit.</summary>
    public static SegmentDescriptor BusyTss(ushort selector) =>
        new(selector, 0, MinimumTssLimit, TypeBusyTss, Present: true, Dpl: 0,
            DefaultBig: false, CodeOrData: false, Long: false, Granularity: false, Available: false);

    /// <summary>
    /// Packs the low 8 bytes of the GDT descriptor. With G set the 20-bit limit field holds
    /// <see cref="Limit"/> in 4 KiB units; base bits 32-63 (system descriptors in long mode)
    /// go in a second slot that <see cref="ToGdtEntryHigh"/> returns.
    /// </summary>
    public ulong ToGdtEntry()
    {
        ulong rawLimit = Granularity ? Limit >> 12 : Limit;
        if (rawLimit > 0xF_FFFF)
        {
            throw new InvalidOperationException($"segment limit 0x{Limit:x} does not fit a descriptor without granularity");
        }

        ulong entry = rawLimit & 0xFFFF;                          // bits 0-15: limit 15:0
        entry |= (Base & 0xFF_FFFF) << 16;                        // bits 16-39: base 23:0
        entry |= (ulong)(Type & 0xF) << 40;                       // bits 40-43: type
        entry |= (CodeOrData ? 1UL : 0) << 44;                    // bit 44: S
        entry |= (ulong)(Dpl & 0x3) << 45;                        // bits 45-46: DPL
        entry |= (Present ? 1UL : 0) << 47;                       // bit 47: P
        entry |= ((rawLimit >> 16) & 0xF) << 48;                  // bits 48-51: limit 19:16
        entry |= (Available ? 1UL : 0) << 52;                     // bit 52: AVL
        entry |= (Long ? 1UL : 0) << 53;                          // bit 53: L
        entry |= (DefaultBig ? 1UL : 0) << 54;                    // bit 54: D/B
        entry |= (Granularity ? 1UL : 0) << 55;                   // bit 55: G
        entry |= ((Base >> 24) & 0xFF) << 56;                     // bits 56-63: base 31:24
        return entry;
    }

    /// <summary>The upper 8 bytes of a 16-byte long-mode system descriptor: base 63:32.</summary>
    public ulong ToGdtEntryHigh() => Base >> 32;
}
