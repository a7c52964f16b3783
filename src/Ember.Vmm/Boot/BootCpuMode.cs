namespace Ember.Vmm.Boot;

/// <summary>The processor mode a boot protocol enters the kernel in.</summary>
public enum BootCpuMode
{
    /// <summary>64-bit long mode with paging on (Linux boot.rst "64-bit BOOT PROTOCOL").</summary>
    Long64,

    /// <summary>32-bit protected mode, paging off (PVH, Multiboot, Linux 32-bit boot protocol).</summary>
    Protected32,
}
