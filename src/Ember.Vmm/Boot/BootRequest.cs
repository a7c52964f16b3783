using Ember.Memory;

namespace Ember.Vmm.Boot;

/// <summary>What to boot: the kernel image, its command line, and optionally an initrd and the ACPI RSDP.</summary>
/// <param name="Kernel">The whole kernel file (bzImage, or ELF vmlinux/multiboot kernel).</param>
/// <param name="CommandLine">Kernel command line (without NUL).</param>
public sealed record BootRequest(ReadOnlyMemory<byte> Kernel, string CommandLine)
{
    /// <summary>Initial ramdisk; empty means none.</summary>
    public ReadOnlyMemory<byte> Initrd { get; init; }

    /// <summary>Where the ACPI tables' RSDP was written, passed on to protocols that carry it (Linux 2.14+, PVH).</summary>
    public GuestAddress? AcpiRsdp { get; init; }
}
