namespace Ember.Vmm.Cpu;

/// <summary>One of the four CPUID output registers.</summary>
public enum CpuidRegister
{
    Eax,
    Ebx,
    Ecx,
    Edx,
}
