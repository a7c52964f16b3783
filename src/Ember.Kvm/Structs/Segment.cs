using System.Runtime.InteropServices;

namespace Ember.Kvm;

/// <summary>A segment register with its hidden descriptor cache (<c>struct kvm_segment</c>, 24 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Segment
{
    public ulong Base;
    public uint Limit;
    public ushort Selector;
    public byte Type;
    public byte Present, Dpl, Db, S, L, G, Avl;
    public byte Unusable;
    public byte Padding;
}
