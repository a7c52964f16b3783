using System.Runtime.InteropServices;

namespace Ember.Kvm.Interop;

/// <summary><c>struct kvm_enable_cap</c>, 104 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct EnableCapRequest
{
    public uint Cap;
    public uint Flags;
    public fixed ulong Args[4];
    public fixed byte Padding[64];
}
