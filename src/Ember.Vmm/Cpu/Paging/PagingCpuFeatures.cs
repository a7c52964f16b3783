using Ember.Kvm;

namespace Ember.Vmm.Cpu.Paging;

/// <summary>
/// What the vCPU's CPUID says about paging: MAXPHYADDR (entry bits above it are reserved) and whether a
/// long-mode PDPTE may map a 1 GiB page (otherwise its PS bit is reserved).
/// </summary>
public readonly record struct PagingCpuFeatures(int PhysicalAddressBits, bool Supports1GiBPages)
{
    /// <summary>An x86-64 CPU at the architectural limits: 52-bit physical addresses and 1 GiB pages.</summary>
    public static PagingCpuFeatures Widest => new(PagingBits.MaxPhysicalAddressBits, true);

    /// <summary>
    /// Reads CPUID.80000008H:EAX[7:0] (MAXPHYADDR; 36 when the leaf is missing, Intel SDM vol. 3A §4.1.4) and
    /// CPUID.80000001H:EDX[26] (Page1GB). A value outside 32–52 is clamped: the CPUID came from KVM, but a
    /// walker must not build a nonsense mask from it.
    /// </summary>
    public static PagingCpuFeatures FromCpuid(IReadOnlyList<CpuidEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        int bits = 36;
        bool gigabytePages = false;
        foreach (var entry in entries)
        {
            if (entry.Function == 0x8000_0008)
                bits = (int)(entry.Eax & 0xFF);
            else if (entry.Function == 0x8000_0001)
                gigabytePages = (entry.Edx & (1u << 26)) != 0;
        }
        return new(Math.Clamp(bits, 32, PagingBits.MaxPhysicalAddressBits), gigabytePages);
    }
}
