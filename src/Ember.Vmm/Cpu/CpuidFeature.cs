namespace Ember.Vmm.Cpu;

/// <summary>A CPUID feature bit by name, as `--cpuid-mask` spells it (Linux /proc/cpuinfo names).</summary>
public readonly record struct CpuidFeature(string Name, uint Function, CpuidRegister Register, int Bit)
{
    /// <summary>The features a user can hide. Bits from the Intel SDM vol. 2A CPUID tables and AMD APM vol. 3.</summary>
    public static readonly IReadOnlyList<CpuidFeature> Known =
    [
        new("sse3", 1, CpuidRegister.Ecx, 0),
        new("pclmulqdq", 1, CpuidRegister.Ecx, 1),
        new("monitor", 1, CpuidRegister.Ecx, 3),
        new("vmx", 1, CpuidRegister.Ecx, 5),
        new("ssse3", 1, CpuidRegister.Ecx, 9),
        new("fma", 1, CpuidRegister.Ecx, 12),
        new("cx16", 1, CpuidRegister.Ecx, 13),
        new("pcid", 1, CpuidRegister.Ecx, 17),
        new("sse4_1", 1, CpuidRegister.Ecx, 19),
        new("sse4_2", 1, CpuidRegister.Ecx, 20),
        new("x2apic", 1, CpuidRegister.Ecx, 21),
        new("movbe", 1, CpuidRegister.Ecx, 22),
        new("popcnt", 1, CpuidRegister.Ecx, 23),
        new("tsc_deadline_timer", 1, CpuidRegister.Ecx, 24),
        new("aes", 1, CpuidRegister.Ecx, 25),
        new("xsave", 1, CpuidRegister.Ecx, 26),
        new("avx", 1, CpuidRegister.Ecx, 28),
        new("f16c", 1, CpuidRegister.Ecx, 29),
        new("rdrand", 1, CpuidRegister.Ecx, 30),
        new("apic", 1, CpuidRegister.Edx, 9),
        new("mtrr", 1, CpuidRegister.Edx, 12),
        new("pge", 1, CpuidRegister.Edx, 13),
        new("pat", 1, CpuidRegister.Edx, 16),
        new("acpi", 1, CpuidRegister.Edx, 22),
        new("ht", 1, CpuidRegister.Edx, 28),
        new("fsgsbase", 7, CpuidRegister.Ebx, 0),
        new("bmi1", 7, CpuidRegister.Ebx, 3),
        new("avx2", 7, CpuidRegister.Ebx, 5),
        new("smep", 7, CpuidRegister.Ebx, 7),
        new("bmi2", 7, CpuidRegister.Ebx, 8),
        new("erms", 7, CpuidRegister.Ebx, 9),
        new("invpcid", 7, CpuidRegister.Ebx, 10),
        new("avx512f", 7, CpuidRegister.Ebx, 16),
        new("rdseed", 7, CpuidRegister.Ebx, 18),
        new("adx", 7, CpuidRegister.Ebx, 19),
        new("smap", 7, CpuidRegister.Ebx, 20),
        new("umip", 7, CpuidRegister.Ecx, 2),
        new("pku", 7, CpuidRegister.Ecx, 3),
        new("la57", 7, CpuidRegister.Ecx, 16),
        new("rdpid", 7, CpuidRegister.Ecx, 22),
        new("xsaveopt", 0xD, CpuidRegister.Eax, 0),
        new("xsavec", 0xD, CpuidRegister.Eax, 1),
        new("xsaves", 0xD, CpuidRegister.Eax, 3),
        new("lahf_lm", 0x8000_0001, CpuidRegister.Ecx, 0),
        new("svm", 0x8000_0001, CpuidRegister.Ecx, 2),
        new("abm", 0x8000_0001, CpuidRegister.Ecx, 5),
        new("syscall", 0x8000_0001, CpuidRegister.Edx, 11),
        new("nx", 0x8000_0001, CpuidRegister.Edx, 20),
        new("pdpe1gb", 0x8000_0001, CpuidRegister.Edx, 26),
        new("rdtscp", 0x8000_0001, CpuidRegister.Edx, 27),
    ];

    public static bool TryFind(string name, out CpuidFeature feature)
    {
        foreach (var f in Known)
        {
            if (string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase) ||
                string.Equals(f.Name.Replace('_', '-'), name, StringComparison.OrdinalIgnoreCase))
            {
                feature = f;
                return true;
            }
        }
        feature = default;
        return false;
    }
}
