using System.Runtime.InteropServices;

namespace Ember.Kvm;

/// <summary>One CPUID leaf/subleaf (<c>struct kvm_cpuid_entry2</c>, 40 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct CpuidEntry
{
    /// <summary>KVM_CPUID_FLAG_SIGNIFCANT_INDEX: the entry depends on ECX (the index).</summary>
    public const uint FlagSignificantIndex = 1;

    public uint Function;
    public uint Index;
    public uint Flags;
    public uint Eax, Ebx, Ecx, Edx;
    private fixed uint _padding[3];

    public override readonly string ToString() =>
        $"CPUID 0x{Function:x}.{Index}: eax=0x{Eax:x8} ebx=0x{Ebx:x8} ecx=0x{Ecx:x8} edx=0x{Edx:x8}";
}
