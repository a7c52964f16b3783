using System.Runtime.InteropServices;

namespace Ember.Kvm;

/// <summary>
/// <c>struct kvm_sregs2</c> (320 bytes, KVM_GET_SREGS2 with KVM_CAP_SREGS2, Linux 5.14+): the special registers
/// without the pending-interrupt bitmap, plus the four PAE PDPTE registers the vCPU loaded at its last CR3 write,
/// valid when <see cref="Flags"/> has <see cref="FlagPdptrsValid"/> (only while PAE paging is on).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct SpecialRegisters2
{
    /// <summary>KVM_SREGS2_FLAGS_PDPTRS_VALID.</summary>
    public const ulong FlagPdptrsValid = 1;

    public Segment Cs, Ds, Es, Fs, Gs, Ss;
    public Segment Tr, Ldt;
    public DescriptorTable Gdt, Idt;
    public ulong Cr0, Cr2, Cr3, Cr4, Cr8;
    public ulong Efer;
    public ulong ApicBase;
    public ulong Flags;
    public fixed ulong Pdptrs[4];

    public readonly bool PdptrsValid => (Flags & FlagPdptrsValid) != 0;

    /// <summary>PDPTE register <paramref name="index"/> (0–3), readable without unsafe code.</summary>
    public readonly ulong Pdptr(int index) =>
        (uint)index < 4 ? Pdptrs[index] : throw new ArgumentOutOfRangeException(nameof(index), index, "a PAE PDPTE index is 0 to 3");
}
