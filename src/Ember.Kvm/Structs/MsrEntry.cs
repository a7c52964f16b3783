using System.Runtime.InteropServices;

namespace Ember.Kvm;

/// <summary>One model-specific register (<c>struct kvm_msr_entry</c>, 16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct MsrEntry(uint index, ulong data)
{
    public uint Index = index;
    private uint _reserved;
    public ulong Data = data;
}
