using System.Runtime.InteropServices;

namespace Ember.Kvm.Interop;

/// <summary><c>struct kvm_ioeventfd</c>, 64 bytes (api.rst 4.59 KVM_IOEVENTFD).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IoEventFdRequest
{
    public const uint FlagDatamatch = 1 << 0;
    public const uint FlagPio = 1 << 1;
    public const uint FlagDeassign = 1 << 2;

    public ulong Datamatch;
    public ulong Addr;
    public uint Len;
    public int Fd;
    public uint Flags;
    public fixed byte Padding[36];
}
