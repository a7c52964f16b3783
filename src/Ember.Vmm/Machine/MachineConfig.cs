using Ember.Devices.Virtio.Net;
using Ember.Devices.Virtio.Socket;
using Ember.Sys;

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

    /// <summary>The machine's name in its metrics (<c>ember.vm</c>) and logs; null gives vm-1, vm-2, ... in creation order.</summary>
    public string? Name { get; init; }

    public string? InitrdPath { get; init; }
    public string CommandLine { get; init; } = "";
    public int VcpuCount { get; init; } = 1;
    public ulong MemorySize { get; init; } = 256UL << 20;
    /// <summary>Where the interrupt controllers live; split (LAPICs in the kernel, IOAPIC/PIC/PIT in Ember) by default.</summary>
    public IrqchipMode Irqchip { get; init; } = IrqchipMode.Split;
    public ConsoleKind Console { get; init; } = ConsoleKind.Stdio;
    /// <summary>With <see cref="ConsoleKind.File"/>: where the output goes.</summary>
    public string? ConsoleFile { get; init; }
    /// <summary>
    /// Firecracker's serial rate_limiter: a bucket of bytes on what the guest writes to COM1; what it cannot pay for
    /// is dropped and counted (<c>uart.rate_limiter_dropped_bytes</c>). Null, or an unlimited bucket, limits nothing.
    /// </summary>
    public Ember.Devices.RateLimiting.TokenBucketSettings? SerialRateLimit { get; init; }
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

    /// <summary>virtio-blk disks, in order: the first is /dev/vda in a Linux guest.</summary>
    public IReadOnlyList<DriveConfig> Drives { get; init; } = [];

    /// <summary>virtio-net interfaces, each on its own host TAP, in order: the first is eth0 in a Linux guest.</summary>
    public IReadOnlyList<NetworkInterfaceConfig> NetworkInterfaces { get; init; } = [];

    /// <summary>A virtio-rng device fed from the host's random number generator.</summary>
    public bool EntropyDevice { get; init; }

    /// <summary>With <see cref="EntropyDevice"/>: Firecracker's rate_limiter on it (bytes delivered, requests); null limits nothing.</summary>
    public Ember.Devices.RateLimiting.RateLimiterSettings? EntropyRateLimiter { get; init; }

    /// <summary>A virtio-vsock device, or null for none.</summary>
    public VsockConfig? Vsock { get; init; }

    /// <summary>
    /// Finish guest kernel instructions a software KVM's emulator cannot run (<see cref="Cpu.EmulatorGapCover"/>):
    /// null decides by the host (on for kvm_pvm, off on hardware KVM, where such exits never come).
    /// </summary>
    public bool? CoverEmulatorGaps { get; init; }

    /// <summary>
    /// Virtio queue doorbells as zero-length ioeventfds, which match a notify write of any length: null decides by
    /// the host (KVM_CAP_IOEVENTFD_ANY_LENGTH); false takes the fallback, a 2-byte ioeventfd matching the queue index.
    /// </summary>
    public bool? AnyLengthDoorbells { get; init; }

    /// <summary>
    /// A GDB remote stub listening here (tcp:HOST:PORT or unix:PATH): every vCPU is a thread, with registers, memory,
    /// breakpoints, watchpoints and single-step. Null for none. Anyone who reaches it controls the guest.
    /// </summary>
    public Debugging.GdbEndpoint? GdbEndpoint { get; init; }

    /// <summary>With <see cref="GdbEndpoint"/>: no vCPU runs an instruction until a debugger connects and continues.</summary>
    public bool GdbWait { get; init; }

    /// <summary>Null when the configuration can be built, else a one-line reason.</summary>
    public string? Validate()
    {
        if (string.IsNullOrWhiteSpace(KernelPath))
            return "no kernel image given";
        if (CheckInputFile("kernel image", KernelPath, out long kernelSize) is { } kernelProblem)
            return kernelProblem;
        long initrdSize = 0;
        if (InitrdPath is not null && CheckInputFile("initrd", InitrdPath, out initrdSize) is { } initrdProblem)
            return initrdProblem;
        if (VcpuCount < 1 || VcpuCount > MaximumVcpus)
            return $"vCPU count must be between 1 and {MaximumVcpus}, not {VcpuCount}";
        if (Irqchip == IrqchipMode.Userspace && VcpuCount != 1)
            return "--irqchip userspace supports exactly one vCPU (there is no APIC to start others)";
        if (MemorySize < MinimumMemory || MemorySize > MaximumMemory)
            return $"memory size must be between {MinimumMemory >> 20} MiB and {MaximumMemory >> 30} GiB";
        if (MemorySize % 0x1000 != 0)
            return "memory size must be a multiple of 4 KiB";
        // Both files are read whole into host memory and then into guest RAM: neither may be bigger than that RAM.
        if ((ulong)kernelSize + (ulong)initrdSize > MemorySize)
            return $"the kernel ({Mib(kernelSize)}){(InitrdPath is null ? "" : $" and initrd ({Mib(initrdSize)})")} do not fit in {MemorySize >> 20} MiB of guest memory; raise --memory";
        if (CpuidMask.FirstOrDefault(name => !Cpu.CpuidFeature.TryFind(name, out _)) is { } unknown)
            return $"unknown CPUID feature '{unknown}' in --cpuid-mask";
        if (Console == ConsoleKind.File && string.IsNullOrWhiteSpace(ConsoleFile))
            return "console file path missing";
        if (GdbWait && GdbEndpoint is null)
            return "--gdb-wait needs --gdb (where the debugger connects)";
        if (DriveProblem() is { } driveProblem)
            return driveProblem;
        if (NetworkProblem() is { } networkProblem)
            return networkProblem;
        if (VsockProblem() is { } vsockProblem)
            return vsockProblem;
        return null;
    }

    /// <summary>The most PCI devices bus 0 holds beside the host bridge.</summary>
    public const int MaximumPciDevices = 31;

    private string? DriveProblem()
    {
        if (Drives.Count + NetworkInterfaces.Count + (EntropyDevice ? 1 : 0) + (Vsock is null ? 0 : 1) > MaximumPciDevices)
            return $"at most {MaximumPciDevices} virtio devices fit on the PCI bus";
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var drive in Drives)
        {
            if (drive.Id.Length is 0 or > 20 || drive.Id.Any(c => c is < ' ' or > '~'))
                return $"disk id '{drive.Id}' must be 1 to 20 printable ASCII characters (it is the disk's virtio serial)";
            if (!ids.Add(drive.Id))
                return $"disk id '{drive.Id}' is used twice";
            var (kind, size) = HostFile.Inspect(drive.Path);
            string? problem = kind switch
            {
                HostFileKind.Regular when size < 512 => $"disk image {drive.Path} is smaller than one 512-byte sector",
                HostFileKind.Regular => null,
                HostFileKind.Missing => $"disk image not found: {drive.Path}",
                HostFileKind.Directory => $"disk image {drive.Path} is a directory",
                HostFileKind.NoPermission => $"disk image {drive.Path} cannot be read: permission denied",
                _ => $"disk image {drive.Path} is not a regular file",
            };
            if (problem is not null)
                return problem;
        }
        return null;
    }

    /// <summary>Ids and TAPs unique, each TAP present in this network namespace (Ember attaches to it, never creates it), MACs unique.</summary>
    private string? NetworkProblem()
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var taps = new HashSet<string>(StringComparer.Ordinal);
        var macs = new HashSet<MacAddress>();
        foreach (var network in NetworkInterfaces)
        {
            if (network.Id.Length is 0 or > 64 || !network.Id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
                return $"network interface id '{network.Id}' must be 1 to 64 letters, digits, '_' or '-'";
            if (!ids.Add(network.Id))
                return $"network interface id '{network.Id}' is used twice";
            if (TapDevice.ValidateName(network.TapName) is { } nameProblem)
                return nameProblem;
            if (!taps.Add(network.TapName))
                return $"TAP '{network.TapName}' is given to two network interfaces; each needs its own";
            if (network.Mac is { } zero && zero == default)
                return $"network interface '{network.Id}': the all-zero MAC address names no interface";
            if (network.Mac is { } mac && !macs.Add(mac))
                return $"MAC address {mac} is given to two network interfaces";
            if (!TapDevice.InterfaceExists(network.TapName))
                return $"TAP '{network.TapName}' does not exist; create it first (ip tuntap add {network.TapName} mode tap && ip link set {network.TapName} up)";
        }
        return null;
    }

    /// <summary>The CID in range, and a uds_path Ember can listen on now (checked without touching it).</summary>
    private string? VsockProblem()
    {
        if (Vsock is not { } vsock)
            return null;
        if (!VsockCid.IsValidGuest(vsock.GuestCid))
            return $"vsock guest CID must be between {VsockCid.FirstGuest} and {VsockCid.Any - 1}, not {vsock.GuestCid} (0-2 are reserved: 2 is the host)";
        if (string.IsNullOrEmpty(vsock.UdsPath))
            return "vsock needs a uds path for its host socket";
        if (VsockUnixPaths.Validate(vsock.UdsPath) is { } pathProblem)
            return pathProblem;
        return UnixListener.FindBindProblem(vsock.UdsPath) is { } bindProblem ? $"vsock uds_path: {bindProblem}" : null;
    }

    private static string Mib(long bytes) => bytes >= 1 << 20 ? $"{bytes >> 20} MiB" : $"{bytes} bytes";

    /// <summary>
    /// A file Ember reads whole must be a regular, non-empty file: checked with stat before it is opened,
    /// since a FIFO would block the open and a device such as /dev/zero would never end.
    /// </summary>
    private static string? CheckInputFile(string what, string path, out long size)
    {
        (var kind, size) = HostFile.Inspect(path);
        return kind switch
        {
            HostFileKind.Regular when size == 0 => $"{what} {path} is empty",
            HostFileKind.Regular => null,
            HostFileKind.Missing => $"{what} not found: {path}",
            HostFileKind.Directory => $"{what} {path} is a directory; give the image file inside it",
            HostFileKind.NoPermission => $"{what} {path} cannot be read: permission denied",
            HostFileKind.Fifo => $"{what} {path} is a FIFO; Ember reads only regular files",
            HostFileKind.Device => $"{what} {path} is a device; Ember reads only regular files",
            HostFileKind.Socket => $"{what} {path} is a socket; Ember reads only regular files",
            _ => $"{what} {path} cannot be read (not a regular file or not reachable)",
        };
    }
}
