using System.Runtime.InteropServices;

namespace Ember.Kvm;

/// <summary>Result of KVM_TRANSLATE: a guest linear address walked through the vCPU's page tables (<c>struct kvm_translation</c>, 24 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct Translation
{
    public ulong LinearAddress;
    public ulong PhysicalAddress;
    public byte Valid;
    public byte Writeable;
    public byte UserMode;
    private fixed byte _padding[5];

    public readonly bool IsValid => Valid != 0;
}
