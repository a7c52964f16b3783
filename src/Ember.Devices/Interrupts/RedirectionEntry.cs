namespace Ember.Devices.Interrupts;

/// <summary>
/// One IOAPIC redirection table entry (82093AA §3.2.4, IOREDTBL[23:0]): a 64-bit register seen by the guest
/// as two 32-bit halves. Bits 55:17 are reserved; delivery status (12) and remote IRR (14) are read-only
/// to the guest, which <see cref="WithGuestWrite"/> enforces.
/// </summary>
public readonly record struct RedirectionEntry(ulong Raw)
{
    private const int VectorShift = 0;
    private const ulong VectorMask = 0xFF;
    private const int DeliveryModeShift = 8;
    private const ulong DeliveryModeMask = 0b111;
    private const ulong DestinationModeBit = 1UL << 11;
    private const ulong DeliveryStatusBit = 1UL << 12;
    private const ulong PolarityBit = 1UL << 13;
    private const ulong RemoteIrrBit = 1UL << 14;
    private const ulong TriggerModeBit = 1UL << 15;
    private const ulong MaskBit = 1UL << 16;
    private const int DestinationShift = 56;
    private const ulong DestinationMask = 0xFF;

    /// <summary>The bits the guest may change: everything defined except delivery status and remote IRR.</summary>
    public const ulong GuestWritableBits =
        (VectorMask << VectorShift) | (DeliveryModeMask << DeliveryModeShift) | DestinationModeBit | PolarityBit
        | TriggerModeBit | MaskBit | (DestinationMask << DestinationShift);

    /// <summary>Bits the IOAPIC itself owns (82093AA §3.2.4: "RO").</summary>
    public const ulong ReadOnlyBits = DeliveryStatusBit | RemoteIrrBit;

    // Intel SDM Vol. 3A §11.11.1: the MSI address is 0xFEE in bits 31:20, destination ID in 19:12,
    // redirection hint in bit 3 and destination mode in bit 2.
    private const ulong MsiAddressBase = 0xFEE0_0000;
    private const int MsiAddressDestinationShift = 12;
    private const ulong MsiAddressDestinationModeBit = 1UL << 2;

    // Intel SDM Vol. 3A §11.11.2: data bits 7:0 vector, 10:8 delivery mode, 14 level (assert), 15 trigger mode.
    // KVM reads bit 15 of a route's data to decide that a vector is level-triggered: it then sets the vector
    // in the LAPIC's TMR and, with a split irqchip, exits to user space on its EOI (KVM_EXIT_IOAPIC_EOI),
    // which is how EndOfInterrupt reaches the user-space IOAPIC.
    private const int MsiDataDeliveryModeShift = 8;
    private const uint MsiDataLevelAssertBit = 1u << 14;
    private const uint MsiDataLevelTriggerBit = 1u << 15;

    /// <summary>The state after reset: masked, everything else zero (82093AA §3.2.4: "xxx1 xxxx xxxx xxxxh").</summary>
    public static RedirectionEntry Reset => new(MaskBit);

    public byte Vector => (byte)((Raw >> VectorShift) & VectorMask);

    public DeliveryMode DeliveryMode => (DeliveryMode)((Raw >> DeliveryModeShift) & DeliveryModeMask);

    public DestinationMode DestinationMode =>
        (Raw & DestinationModeBit) != 0 ? DestinationMode.Logical : DestinationMode.Physical;

    /// <summary>Read-only: set while a message is waiting to be sent. Delivery here is immediate, so it reads 0.</summary>
    public bool DeliveryStatus => (Raw & DeliveryStatusBit) != 0;

    public PinPolarity Polarity => (Raw & PolarityBit) != 0 ? PinPolarity.ActiveLow : PinPolarity.ActiveHigh;

    /// <summary>Read-only: a level interrupt was accepted and its EOI has not come back yet.</summary>
    public bool RemoteIrr => (Raw & RemoteIrrBit) != 0;

    public TriggerMode TriggerMode => (Raw & TriggerModeBit) != 0 ? TriggerMode.Level : TriggerMode.Edge;

    public bool Masked => (Raw & MaskBit) != 0;

    /// <summary>APIC ID (physical mode) or logical destination set (bits 63:56).</summary>
    public byte Destination => (byte)((Raw >> DestinationShift) & DestinationMask);

    /// <summary>Bits 31:0, as read through IOWIN at register 0x10 + 2n.</summary>
    public uint Low => (uint)Raw;

    /// <summary>Bits 63:32, as read through IOWIN at register 0x11 + 2n.</summary>
    public uint High => (uint)(Raw >> 32);

    public RedirectionEntry WithVector(byte vector) =>
        new((Raw & ~(VectorMask << VectorShift)) | ((ulong)vector << VectorShift));

    public RedirectionEntry WithDeliveryMode(DeliveryMode mode) =>
        new((Raw & ~(DeliveryModeMask << DeliveryModeShift)) | (((ulong)mode & DeliveryModeMask) << DeliveryModeShift));

    public RedirectionEntry WithDestinationMode(DestinationMode mode) =>
        WithBit(DestinationModeBit, mode == DestinationMode.Logical);

    public RedirectionEntry WithDeliveryStatus(bool pending) => WithBit(DeliveryStatusBit, pending);

    public RedirectionEntry WithPolarity(PinPolarity polarity) => WithBit(PolarityBit, polarity == PinPolarity.ActiveLow);

    public RedirectionEntry WithRemoteIrr(bool set) => WithBit(RemoteIrrBit, set);

    public RedirectionEntry WithTriggerMode(TriggerMode mode) => WithBit(TriggerModeBit, mode == TriggerMode.Level);

    public RedirectionEntry WithMasked(bool masked) => WithBit(MaskBit, masked);

    public RedirectionEntry WithDestination(byte destination) =>
        new((Raw & ~(DestinationMask << DestinationShift)) | ((ulong)destination << DestinationShift));

    /// <summary>
    /// The entry after the guest wrote <paramref name="value"/>: writable bits are taken from the value,
    /// read-only bits are kept and reserved bits stay as they were (zero).
    /// </summary>
    public RedirectionEntry WithGuestWrite(ulong value) =>
        new((Raw & ~GuestWritableBits) | (value & GuestWritableBits));

    /// <summary>
    /// The MSI this entry describes (Intel SDM Vol. 3A §11.11). Polarity has no MSI equivalent; remote IRR
    /// and the mask stay with the IOAPIC.
    /// </summary>
    public MsiMessage ToMsi()
    {
        ulong address = MsiAddressBase | ((ulong)Destination << MsiAddressDestinationShift);
        if (DestinationMode == DestinationMode.Logical)
            address |= MsiAddressDestinationModeBit;
        uint data = Vector | ((uint)DeliveryMode << MsiDataDeliveryModeShift);
        if (TriggerMode == TriggerMode.Level)
            data |= MsiDataLevelTriggerBit | MsiDataLevelAssertBit;
        return new MsiMessage(address, data);
    }

    private RedirectionEntry WithBit(ulong bit, bool set) => new(set ? Raw | bit : Raw & ~bit);

    public override string ToString() =>
        $"vector=0x{Vector:x2} {DeliveryMode} {DestinationMode} dest=0x{Destination:x2} {TriggerMode} {Polarity}"
        + (Masked ? " masked" : "") + (RemoteIrr ? " remote-irr" : "");
}
