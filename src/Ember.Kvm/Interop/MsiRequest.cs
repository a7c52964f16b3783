using System.Runtime.InteropServices;

namespace Ember.Kvm.Interop;

/// <summary><c>struct kvm_msi</c>, 32 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MsiRequest
{
    public uint AddressLo;
    public uint AddressHi;
    public uint Data;
    public uint Flags;
    public uint DevId;
    public fixed byte Padding[12];
}
