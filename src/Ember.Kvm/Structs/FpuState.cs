using System.Diagnostics.CodeAnalysis;
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

    /// <summary>ST(0)..ST(7) as bytes: 16 per register, of which the low 10 hold the 80-bit value (FXSAVE layout).</summary>
    [UnscopedRef]
    public Span<byte> StackRegisterBytes => MemoryMarshal.CreateSpan(ref Fpr[0], 8 * 16);

    /// <summary>XMM0..XMM15 as bytes, 16 per register.</summary>
    [UnscopedRef]
    public Span<byte> XmmBytes => MemoryMarshal.CreateSpan(ref Xmm[0], 16 * 16);
}
