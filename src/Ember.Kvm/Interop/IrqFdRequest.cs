using System.Runtime.InteropServices;

namespace Ember.Kvm.Interop;

/// <summary><c>struct kvm_irqfd</c>, 32 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IrqFdRequest
{
    public const uint FlagDeassign = 1 << 0;
    public const uint FlagResample = 1 << 1;

    public uint Fd;
    public uint Gsi;
    public uint Flags;
    public uint ResampleFd;
    public fixed byte Padding[16];
}
