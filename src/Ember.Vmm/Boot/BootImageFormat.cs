namespace Ember.Vmm.Boot;

/// <summary>The kernel image formats Ember boots directly (no firmware).</summary>
public enum BootImageFormat
{
    /// <summary>Linux bzImage, 64-bit boot protocol (boot.rst).</summary>
    LinuxBzImage,

    /// <summary>ELF with a XEN_ELFNOTE_PHYS32_ENTRY note (PVH direct boot, e.g. an uncompressed vmlinux).</summary>
    Pvh,

    /// <summary>Multiboot v1 kernel (ELF32 or a.out-kludge binary), as QEMU -kernel loads kvm-unit-tests.</summary>
    Multiboot,
}
