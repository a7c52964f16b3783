using System.Runtime.InteropServices;

namespace Ember.Kvm;

/// <summary>XCR0 and friends (<c>struct kvm_xcrs</c>, 392 bytes: up to 16 (index, value) pairs).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct ExtendedControlRegisters
{
    public const int MaxCount = 16;

    public uint Count;
    public uint Flags;
    /// <summary>Pairs of (u32 xcr, u32 reserved, u64 value), 16 bytes each.</summary>
    private fixed ulong _entries[MaxCount * 2];
    private fixed ulong _padding[16];

    public readonly (uint Index, ulong Value) Get(int i)
    {
        if ((uint)i >= MaxCount)
            throw new ArgumentOutOfRangeException(nameof(i));
        return ((uint)_entries[i * 2], _entries[i * 2 + 1]);
    }

    public void Set(int i, uint index, ulong value)
    {
        if ((uint)i >= MaxCount)
            throw new ArgumentOutOfRangeException(nameof(i));
        _entries[i * 2] = index;
        _entries[i * 2 + 1] = value;
    }
}
