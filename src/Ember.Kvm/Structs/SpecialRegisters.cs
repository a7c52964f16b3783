using System.Runtime.InteropServices;

namespace Ember.Kvm;

/// <summary>Segment, control and descriptor-table registers (<c>struct kvm_sregs</c>, 312 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct SpecialRegisters
{
    public Segment Cs, Ds, Es, Fs, Gs, Ss;
    public Segment Tr, Ldt;
    public DescriptorTable Gdt, Idt;
    public ulong Cr0, Cr2, Cr3, Cr4, Cr8;
    public ulong Efer;
    public ulong ApicBase;
    /// <summary>Bitmap of pending external interrupts (KVM_NR_INTERRUPTS = 256 bits).</summary>
    public fixed ulong InterruptBitmap[4];
}
