namespace Ember.Vmm.Machine;

/// <summary>
/// Everything needed to build and boot one microVM. Validated by <see cref="Validate"/>, which
/// returns a one-line reason for the first problem so the CLI and API can report it plainly.
/// </summary>
public sealed record MachineConfig
{
    public const ulong MinimumMemory = 16UL << 20;
    public const ulong MaximumMemory = 1UL << 40;
    public const int MaximumVcpus = 254;

    /// <summary>Kernel image: bzImage, ELF with a PVH note, or multiboot.</summary>
    public required string KernelPath { get; init; }
    public string? InitrdPath { get; init; }
    public string CommandLine { get; init; } = "";
    public int VcpuCount { get; init; } = 1;
    public ulong MemorySize { get; init; } = 256UL << 20;
    /// <summary>Where the interrupt controllers live; split (LAPICs in the kernel, IOAPIC/PIC/PIT in Ember) by default.</summary>
    public IrqchipMode Irqchip { get; init; } = IrqchipMode.Split;
    public ConsoleKind Console { get; init; } = ConsoleKind.Stdio;
    /// <summary>With <see cref="ConsoleKind.File"/>: where the output goes.</summary>
    public string? ConsoleFile { get; init; }
    /// <summary>Firecracker-style boot timer at MMIO 0xC0000000.</summary>
    public bool BootTimer { get; init; }
    /// <summary>QEMU-style isa-debug-exit at port 0xF4.</summary>
    public bool DebugExit { get; init; }
    /// <summary>
    /// QEMU pc-testdev compatible test devices, as QEMU's <c>-device pc-testdev</c>: the scratch register at
    /// port 0xE0, the flush-page port 0xE4 (absorbed in KVM by an ioeventfd), the ISA IRQ line block at
    /// port 0x2000 and the MMIO buffer at 0xFF000000. Only for test guests; a production guest has none.
    /// </summary>
    public bool TestDevices { get; init; }
    /// <summary>
    /// Boot a bzImage through the PVH entry of the vmlinux it carries, decompressed by Ember (gzip,
    /// LZ4, zstd), so the guest skips its own decompressor. Falls back to the normal bzImage entry
    /// when the payload cannot be decompressed or has no PVH note.
    /// </summary>
    public bool DecompressBzImage { get; init; } = true;

    /// <summary>CPUID feature names to hide from the guest (e.g. "cx16", "xsave").</summary>
    public IReadOnlyList<string> CpuidMask { get; init; } = [];

    /// <summary>Null when the configuration can be built, else a one-line reason.</summary>
    public string? Validate()
    {
        if (string.IsNullOrWhiteSpace(KernelPath))
            return "no kernel image given";
        if (!File.Exists(KernelPath))
            return $"kernel image not found: {KernelPath}";
        if (InitrdPath is not null && !File.Exists(InitrdPath))
            return $"initrd not found: {InitrdPath}";
        if (VcpuCount < 1 || VcpuCount > MaximumVcpus)
            return $"vCPU count must be between 1 and {MaximumVcpus}, not {VcpuCount}";
        if (Irqchip == IrqchipMode.Userspace && VcpuCount != 1)
            return "--irqchip userspace supports exactly one vCPU (there is no APIC to start others)";
        if (MemorySize < MinimumMemory || MemorySize > MaximumMemory)
            return $"memory size must be between {MinimumMemory >> 20} MiB and {MaximumMemory >> 30} GiB";
        if (MemorySize % 0x1000 != 0)
            return "memory size must be a multiple of 4 KiB";
        if (Console == ConsoleKind.File && string.IsNullOrWhiteSpace(ConsoleFile))
            return "console file path missing";
        return null;
    }
}
