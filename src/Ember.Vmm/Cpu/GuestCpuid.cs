using Ember.Kvm;

namespace Ember.Vmm.Cpu;

/// <summary>
/// Turns KVM_GET_SUPPORTED_CPUID into what one vCPU sees: its APIC ID and the topology (one core
/// per vCPU, one thread per core), the hypervisor bit, and the features the user masked.
/// </summary>
public static class GuestCpuid
{
    private const int HypervisorBit = 31;       // leaf 1 ECX: running under a hypervisor
    private const int OsxsaveBit = 27;          // leaf 1 ECX: OS has enabled XSAVE (follows CR4, hidden with xsave)
    private const int HttBit = 28;              // leaf 1 EDX: EBX[23:16] is valid
    private const uint ExtendedTopologyLeaf = 0xB;
    private const uint V2ExtendedTopologyLeaf = 0x1F;
    private const uint CacheParametersLeaf = 4;
    private const uint AmdSizeIdentifiersLeaf = 0x8000_0008;
    private const uint XsaveLeaf = 0xD;

    public static CpuidEntry[] Build(ReadOnlySpan<CpuidEntry> supported, uint apicId, int vcpuCount, IEnumerable<CpuidFeature> masked)
    {
        var entries = supported.ToArray();
        var maskList = masked.ToList();
        bool hideXsave = maskList.Any(f => f.Name == "xsave");
        int coreBits = BitsFor(vcpuCount);
        for (int i = 0; i < entries.Length; i++)
        {
            ref var e = ref entries[i];
            switch (e.Function)
            {
                case 1:
                    e.Ebx = (e.Ebx & 0x0000_FFFF) | ((uint)Math.Min(vcpuCount, 255) << 16) | (apicId << 24);
                    e.Ecx |= 1u << HypervisorBit;
                    if (hideXsave)
                        e.Ecx &= ~(1u << OsxsaveBit);
                    e.Edx = vcpuCount > 1 ? e.Edx | (1u << HttBit) : e.Edx & ~(1u << HttBit);
                    break;
                case CacheParametersLeaf:
                    // EAX[31:26] = cores per package - 1; EAX[25:14] = threads sharing this cache - 1.
                    e.Eax = (e.Eax & 0x3FFF) | ((uint)(vcpuCount - 1) << 26);
                    break;
                case ExtendedTopologyLeaf:
                case V2ExtendedTopologyLeaf:
                    SetTopologyLevel(ref e, apicId, vcpuCount, coreBits);
                    break;
                case XsaveLeaf when hideXsave:
                    e.Eax = e.Ebx = e.Ecx = e.Edx = 0;
                    break;
                case AmdSizeIdentifiersLeaf:
                    // ECX[7:0] = threads per package - 1; ECX[15:12] = APIC ID bits for them.
                    e.Ecx = (e.Ecx & ~0xF0FFu) | (uint)(vcpuCount - 1) | ((uint)coreBits << 12);
                    break;
            }
            foreach (var feature in maskList)
            {
                if (feature.Function == e.Function && (feature.Function != 7 || e.Index == 0) && (feature.Function != XsaveLeaf || e.Index == 1))
                    Clear(ref e, feature.Register, feature.Bit);
            }
        }
        return entries;
    }

    /// <summary>x2APIC topology (leaf 0xB/0x1F): level 0 is SMT with one thread, level 1 is cores, higher levels invalid.</summary>
    private static void SetTopologyLevel(ref CpuidEntry e, uint apicId, int vcpuCount, int coreBits)
    {
        e.Edx = apicId;
        switch (e.Index)
        {
            case 0:
                e.Eax = 0;
                e.Ebx = 1;
                e.Ecx = (1u << 8) | 0;
                break;
            case 1:
                e.Eax = (uint)coreBits;
                e.Ebx = (uint)vcpuCount;
                e.Ecx = (2u << 8) | 1;
                break;
            default:
                e.Eax = 0;
                e.Ebx = 0;
                e.Ecx = e.Index;
                break;
        }
    }

    private static int BitsFor(int count)
    {
        int bits = 0;
        while ((1 << bits) < count)
            bits++;
        return bits;
    }

    private static void Clear(ref CpuidEntry e, CpuidRegister register, int bit)
    {
        uint mask = ~(1u << bit);
        switch (register)
        {
            case CpuidRegister.Eax: e.Eax &= mask; break;
            case CpuidRegister.Ebx: e.Ebx &= mask; break;
            case CpuidRegister.Ecx: e.Ecx &= mask; break;
            default: e.Edx &= mask; break;
        }
    }
}
