using System.Runtime.InteropServices;

namespace Ember.Kvm;

/// <summary>Legacy x87/SSE state (<c>struct kvm_fpu</c>, 416 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct FpuState
{
    public fixed byte Fpr[8 * 16];
    public ushort Fcw;
    public ushort Fsw;
    public byte Ftwx;
    private byte _padding1;
    public ushort LastOpcode;
    public ulong LastIp;
    public ulong LastDp;
    public fixed byte Xmm[16 * 16];
    public uint Mxcsr;
    private uint _padding2;
}
