using Ember.Kvm;

namespace Ember.Vmm.Cpu.Paging;

/// <summary>
/// Everything a page walk depends on, copied out of a vCPU at one moment: CR0 (PG, WP), CR3 (the root table),
/// CR4 (PSE, PAE, LA57, SMEP, SMAP), IA32_EFER (LMA, NXE), EFLAGS.AC (for SMAP) and the CPU's paging features.
/// A plain value, so the walker is a pure function of it and of guest memory.
/// </summary>
public sealed record PagingState(ulong Cr0, ulong Cr3, ulong Cr4, ulong Efer)
{
    /// <summary>RFLAGS; only AC (bit 18) matters, for CR4.SMAP.</summary>
    public ulong Rflags { get; init; }

    public PagingCpuFeatures Features { get; init; } = PagingCpuFeatures.Widest;

    /// <summary>
    /// The four PDPTEs the CPU loaded at the last CR3 write, for PAE paging (Intel SDM vol. 3A §4.4.1: the CPU
    /// walks from these registers, not from memory). Null: read them from the table CR3 points at, which is
    /// the same unless the guest changed that table since.
    /// </summary>
    public PaePdpteRegisters? PaePdptes { get; init; }

    /// <summary>The paging mode the control registers select (Intel SDM vol. 3A table 4-1).</summary>
    public PagingMode Mode =>
        (Cr0 & PagingBits.Cr0Paging) == 0 ? PagingMode.Disabled
        : (Cr4 & PagingBits.Cr4PhysicalAddressExtension) == 0 ? PagingMode.ThirtyTwoBit
        : (Efer & PagingBits.EferLongModeActive) == 0 ? PagingMode.Pae
        : (Cr4 & PagingBits.Cr4La57) == 0 ? PagingMode.FourLevel
        : PagingMode.FiveLevel;

    public bool WriteProtect => (Cr0 & PagingBits.Cr0WriteProtect) != 0;

    public bool NoExecuteEnabled => (Efer & PagingBits.EferNoExecuteEnable) != 0;

    public bool PageSizeExtensions => (Cr4 & PagingBits.Cr4PageSizeExtensions) != 0;

    public bool Smep => (Cr4 & PagingBits.Cr4Smep) != 0;

    public bool Smap => (Cr4 & PagingBits.Cr4Smap) != 0;

    public bool AlignmentCheck => (Rflags & PagingBits.RflagsAlignmentCheck) != 0;

    /// <summary>The paging state of a vCPU whose registers were just read.</summary>
    public static PagingState FromRegisters(in SpecialRegisters sregs, ulong rflags, PagingCpuFeatures features) =>
        new(sregs.Cr0, sregs.Cr3, sregs.Cr4, sregs.Efer) { Rflags = rflags, Features = features };

    /// <summary>
    /// The paging state from KVM_GET_SREGS2, which adds the PDPTE registers under PAE paging, so a PAE walk starts
    /// where the vCPU's does even after the guest rewrote its PDPT without reloading CR3.
    /// </summary>
    public static PagingState FromRegisters(in SpecialRegisters2 sregs, ulong rflags, PagingCpuFeatures features) =>
        new(sregs.Cr0, sregs.Cr3, sregs.Cr4, sregs.Efer)
        {
            Rflags = rflags,
            Features = features,
            PaePdptes = sregs.PdptrsValid ? new PaePdpteRegisters(sregs.Pdptr(0), sregs.Pdptr(1), sregs.Pdptr(2), sregs.Pdptr(3)) : null,
        };

    public override string ToString() =>
        $"{Mode} paging (CR0 0x{Cr0:x}, CR3 0x{Cr3:x}, CR4 0x{Cr4:x}, EFER 0x{Efer:x}, MAXPHYADDR {Features.PhysicalAddressBits})";
}
