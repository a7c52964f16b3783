using Ember.Devices.RateLimiting;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Control;

/// <summary>
/// Everything a machine is built from, one validated record per resource, set before boot by the API, a
/// configuration file or the command line alike. <see cref="Build"/> turns them into the
/// <see cref="MachineConfig"/> the machine consumes. Not thread-safe: the controller's thread owns it.
/// </summary>
public sealed class VmResources
{
    /// <summary>
    /// Firecracker's boot arguments when none are given, without its pci=off (Ember's devices are on PCI) and
    /// with Ember's one UART: the serial console, reboot through the 8042, panic ends the VM.
    /// </summary>
    public const string DefaultBootArgs = "console=ttyS0 reboot=k panic=1 8250.nr_uarts=1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd";

    private readonly List<DriveResource> _drives = [];
    private readonly List<NetworkInterfaceResource> _networkInterfaces = [];

    public BootSourceConfig? BootSource { get; private set; }

    public MachineSizeConfig MachineSize { get; private set; } = new();

    public IReadOnlyList<DriveResource> Drives => _drives;

    public IReadOnlyList<NetworkInterfaceResource> NetworkInterfaces => _networkInterfaces;

    public bool Entropy { get; private set; }

    /// <summary>The entropy device's rate limiter; null limits nothing.</summary>
    public RateLimiterSettings? EntropyRateLimiter { get; private set; }

    public VsockResource? Vsock { get; private set; }

    public LoggerResource? Logger { get; private set; }

    public MetricsResource? Metrics { get; private set; }

    public SerialResource? Serial { get; private set; }

    public void SetBootSource(BootSourceConfig bootSource)
    {
        bootSource.Validate();
        BootSource = bootSource;
    }

    public void SetMachineSize(MachineSizeConfig size)
    {
        size.Validate();
        MachineSize = size;
    }

    /// <summary>Adds a drive, or replaces the one with the same id; at most one root device.</summary>
    public void PutDrive(DriveResource drive)
    {
        drive.Validate();
        int existing = _drives.FindIndex(d => d.DriveId == drive.DriveId);
        if (drive.IsRootDevice && _drives.FirstOrDefault(d => d.IsRootDevice && d.DriveId != drive.DriveId) is { } root)
            throw new ResourceConfigException($"is_root_device: drive '{root.DriveId}' is already the root device");
        if (existing < 0 && PciDevices >= MachineConfig.MaximumPciDevices)
            throw new ResourceConfigException($"drive_id: at most {MachineConfig.MaximumPciDevices} virtio devices fit on the PCI bus");
        if (existing >= 0)
            _drives[existing] = drive;
        else
            _drives.Add(drive);
    }

    /// <summary>After a running drive's image was swapped: the resources say the new path (GET /vm/config).</summary>
    internal void ReplaceDrivePath(string driveId, string path) => ChangeDrive(driveId, d => d with { PathOnHost = path });

    internal void ReplaceDriveRateLimiter(string driveId, RateLimiterSettings limiter) => ChangeDrive(driveId, d => d with { RateLimiter = limiter });

    private void ChangeDrive(string driveId, Func<DriveResource, DriveResource> change)
    {
        int index = _drives.FindIndex(d => d.DriveId == driveId);
        if (index >= 0)
            _drives[index] = change(_drives[index]);
    }

    private int PciDevices => _drives.Count + _networkInterfaces.Count + (Entropy ? 1 : 0) + (Vsock is null ? 0 : 1);

    /// <summary>Adds a network interface, or replaces the one with the same id; each needs its own TAP and MAC.</summary>
    public void PutNetworkInterface(NetworkInterfaceResource network)
    {
        network.Validate();
        int existing = _networkInterfaces.FindIndex(n => n.IfaceId == network.IfaceId);
        var others = _networkInterfaces.Where(n => n.IfaceId != network.IfaceId).ToList();
        if (others.FirstOrDefault(n => n.HostDevName == network.HostDevName) is { } sameTap)
            throw new ResourceConfigException($"host_dev_name: TAP '{network.HostDevName}' is already used by network interface '{sameTap.IfaceId}'; each needs its own");
        if (network.Mac is { } mac && others.FirstOrDefault(n => n.Mac == mac) is { } sameMac)
            throw new ResourceConfigException($"guest_mac: {mac} is already the address of network interface '{sameMac.IfaceId}'");
        if (existing < 0 && PciDevices >= MachineConfig.MaximumPciDevices)
            throw new ResourceConfigException($"iface_id: at most {MachineConfig.MaximumPciDevices} virtio devices fit on the PCI bus");
        if (existing >= 0)
            _networkInterfaces[existing] = network;
        else
            _networkInterfaces.Add(network);
    }

    /// <summary>After a running interface's limiters were patched: the resources say the new settings (GET /vm/config).</summary>
    internal void ReplaceNetworkRateLimiters(string ifaceId, RateLimiterSettings? receive, RateLimiterSettings? transmit)
    {
        int index = _networkInterfaces.FindIndex(n => n.IfaceId == ifaceId);
        if (index >= 0)
        {
            var current = _networkInterfaces[index];
            _networkInterfaces[index] = current with { RxRateLimiter = receive ?? current.RxRateLimiter, TxRateLimiter = transmit ?? current.TxRateLimiter };
        }
    }

    /// <summary>Creates the entropy device, or replaces its rate limiter (null: none).</summary>
    public void SetEntropy(RateLimiterSettings? rateLimiter = null)
    {
        if (!Entropy && PciDevices >= MachineConfig.MaximumPciDevices)
            throw new ResourceConfigException($"the entropy device does not fit: at most {MachineConfig.MaximumPciDevices} virtio devices fit on the PCI bus");
        Entropy = true;
        EntropyRateLimiter = rateLimiter;
    }

    /// <summary>Creates the vsock device, or replaces its configuration (a machine has at most one).</summary>
    public void SetVsock(VsockResource vsock)
    {
        vsock.Validate();
        if (Vsock is null && PciDevices >= MachineConfig.MaximumPciDevices)
            throw new ResourceConfigException($"the vsock device does not fit: at most {MachineConfig.MaximumPciDevices} virtio devices fit on the PCI bus");
        Vsock = vsock;
    }

    public void SetLogger(LoggerResource logger)
    {
        logger.Validate();
        Logger = logger;
    }

    public void SetMetrics(MetricsResource metrics)
    {
        metrics.Validate();
        Metrics = metrics;
    }

    public void SetSerial(SerialResource serial)
    {
        serial.Validate();
        Serial = serial;
    }

    /// <summary>
    /// The machine these resources describe. The root drive comes first (it is /dev/vda) and the kernel command
    /// line names it, as Firecracker does: root=/dev/vda, or root=PARTUUID=… when a partuuid is given.
    /// </summary>
    public MachineConfig Build(bool bootTimer = false)
    {
        if (BootSource is null)
            throw new ResourceConfigException("boot-source: no kernel was configured (PUT /boot-source first)");
        var ordered = _drives.Where(d => d.IsRootDevice).Concat(_drives.Where(d => !d.IsRootDevice)).ToList();
        string commandLine = BootSource.BootArgs ?? DefaultBootArgs;
        if (ordered.FirstOrDefault(d => d.IsRootDevice) is { } root)
            commandLine += $" root={(root.Partuuid is { } uuid ? $"PARTUUID={uuid}" : "/dev/vda")} {(root.IsReadOnly ? "ro" : "rw")}";
        return new MachineConfig
        {
            KernelPath = BootSource.KernelImagePath,
            InitrdPath = BootSource.InitrdPath,
            CommandLine = commandLine,
            VcpuCount = MachineSize.VcpuCount,
            GdbEndpoint = MachineSize.GdbSocketPath is { } gdb ? Debugging.GdbEndpoint.Unix(gdb) : null,
            GdbWait = MachineSize.GdbSocketPath is not null,
            MemorySize = (ulong)MachineSize.MemSizeMib << 20,
            Console = Serial?.SerialOutPath is null ? ConsoleKind.Stdio : ConsoleKind.File,
            ConsoleFile = Serial?.SerialOutPath,
            SerialRateLimit = Serial?.RateLimiter,
            BootTimer = bootTimer,
            Drives = ordered.Select(d => new DriveConfig(d.DriveId, d.PathOnHost, d.IsReadOnly, d.RateLimiter)).ToList(),
            EntropyDevice = Entropy,
            EntropyRateLimiter = EntropyRateLimiter,
            Vsock = Vsock is { } vsock ? new VsockConfig((ulong)vsock.GuestCid, vsock.UdsPath) : null,
            NetworkInterfaces = _networkInterfaces.Select(n => new NetworkInterfaceConfig(n.IfaceId, n.HostDevName, n.Mac, n.RxRateLimiter, n.TxRateLimiter)).ToList(),
        };
    }
}
