using System.Runtime.InteropServices;

namespace Ember.Kvm;

/// <summary>GDTR/IDTR contents (<c>struct kvm_dtable</c>, 16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct DescriptorTable
{
    public ulong Base;
    public ushort Limit;
    private ushort _padding0, _padding1, _padding2;
}
