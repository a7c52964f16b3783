using Ember.Devices.RateLimiting;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Block;
using Ember.Devices.Virtio.Entropy;
using Ember.Devices.Virtio.Net;
using Ember.Devices.Virtio.Queues;
using Ember.Devices.Virtio.Socket;
using Ember.Devices.Virtio.Transport;
using Ember.Kvm;
using Ember.Memory;
using Ember.Sys;
using Ember.Vmm.Devices;
using Ember.Vmm.Diagnostics;
using Ember.Vmm.Interrupts;
using Ember.Vmm.Machine;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Ember.Vmm.Virtio;

/// <summary>
/// The machine's virtio devices: one virtio-pci function per configured disk, the entropy device, the vsock
/// device, and one per network interface, in that order on PCI bus 0. It owns what they use on the host: the disk
/// files, the TAPs, the vsock listener, the MSI-X vector groups and the device I/O thread, an event loop that serves
/// the queues' doorbells (ioeventfds), the TAPs' readiness and the host sockets, so a guest's queue notification is
/// handled off the vCPU thread without an exit to user space.
/// </summary>
public sealed class VirtioPciDevices : IDisposable
{
    private readonly EventLoop _io = new();
    private readonly List<SafeFileHandle> _files = [];
    private readonly List<TapNetBackend> _taps = [];
    private readonly Dictionary<string, RateLimitedNetBackend> _networks = new(StringComparer.Ordinal);
    private readonly List<IDisposable> _vectorGroups = [];
    private readonly List<LoopTimer> _retryTimers = [];
    private readonly List<IDisposable> _owned = [];
    private readonly List<VirtioPciFunction> _functions = [];
    private readonly Dictionary<string, (DriveConfig Drive, VirtioBlock Device)> _disks = new(StringComparer.Ordinal);
    private readonly object _swapLock = new();

    internal VirtioPciDevices(MachineConfig config, VirtualMachine vm, IGuestMemory memory, IInterruptController interrupts, DeviceManager devices, ILogger logger, GuestTriggeredLogs? logs = null)
    {
        logs ??= new GuestTriggeredLogs(logger);
        try
        {
            var doorbells = new IoEventDoorbells(vm, _io, logs.NoIoEventFd, config.AnyLengthDoorbells);
            DoorbellsMatchAnyLength = doorbells.MatchesAnyLength;
            foreach (var drive in config.Drives)
            {
                var file = OpenDisk(drive);
                _files.Add(file);
                // A request queue per vCPU (VIRTIO_BLK_F_MQ, up to VirtioBlock.MaxQueues), each with its own doorbell, all
                // served on the I/O thread.
                var block = new VirtioBlock(new FileBlockBackend(file, drive.ReadOnly), drive.Id, limiter: new RateLimiter(drive.RateLimiter),
                    queueCount: Math.Min(config.VcpuCount, VirtioBlock.MaxQueues));
                // A request the limiter refuses is retried from the I/O thread when the limiter says, never by spinning.
                var retry = new LoopTimer(_io, block.RetryThrottled);
                _retryTimers.Add(retry);
                block.UseRetryTimer(retry);
                _disks[drive.Id] = (drive, block);
                Add(block, $"drive:{drive.Id}", $"virtio-blk {drive.Id} ({drive.Path}{(drive.ReadOnly ? ", read-only" : "")}, {block.CapacitySectors} sectors, {block.QueueCount} queues)");
            }
            if (config.EntropyDevice)
            {
                var entropy = new VirtioEntropy(limiter: new RateLimiter(config.EntropyRateLimiter));
                var retry = new LoopTimer(_io, entropy.RetryThrottled);
                _retryTimers.Add(retry);
                entropy.UseRetryTimer(retry);
                Add(entropy, "rng", "virtio-rng");
            }
            if (config.Vsock is { } vsock)
                Add(CreateVsock(vsock), "vsock", $"virtio-vsock (guest CID {vsock.GuestCid}, {vsock.UdsPath})");
            foreach (var network in config.NetworkInterfaces)
            {
                var backend = OpenTap(network);
                _taps.Add(backend);
                var limited = new RateLimitedNetBackend(backend, new RateLimiter(network.RxRateLimiter), new RateLimiter(network.TxRateLimiter));
                var net = new VirtioNet(limited, network.Mac);
                backend.Attach(_io, net.OnBackendReady);
                var retry = new LoopTimer(_io, limited.RetryThrottled);
                _retryTimers.Add(retry);
                limited.Attach(net.OnBackendReady, retry);
                lock (_swapLock)
                    _networks[network.Id] = limited;
                Add(net, $"net:{network.Id}", $"virtio-net {network.Id} (TAP {network.TapName}, {(network.Mac is { } mac ? $"MAC {mac}" : "MAC chosen by the guest")})");
            }
            if (_functions.Count > 0)
                _io.Start(ThreadRole.DeviceIo, "virtio");

            void Add(IVirtioDevice device, string id, string what)
            {
                // INTA# of the slot the function goes to, used while the driver leaves MSI-X off (always so without a
                // LAPIC); a second input on the same wire takes MSI-X vectors as edges where no LAPIC can take them.
                var pci = devices.Pci;
                int slot = pci.NextSlot;
                var function = new VirtioPciFunction(device, memory, count =>
                {
                    var group = interrupts.CreateMsiVectors(count, pci.IntxInput(slot));
                    _vectorGroups.Add(group);
                    return group;
                }, pci.IntxInput(slot), doorbells, broken =>
                {
                    if (logs.NeedsReset.TryBegin())
                        VmmLog.DeviceNeedsReset(logger, what, DescribeFault(broken));
                });
                var address = devices.AddPciFunction(id, function);
                _functions.Add(function);
                logger.LogDebug("PCI {Address}: {Device}", address, what);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Whether queue doorbells match any write (zero-length ioeventfds) or only a 16-bit queue index (the fallback).</summary>
    internal bool DoorbellsMatchAnyLength { get; }

    /// <summary>The device I/O thread's loop (quiesced while the machine is paused).</summary>
    internal EventLoop IoLoop => _io;

    /// <summary>The virtio-pci functions, in slot order.</summary>
    public IReadOnlyList<VirtioPciFunction> Functions => _functions;

    /// <summary>
    /// Swaps the image file under the running disk <paramref name="driveId"/> (read-only stays read-only); the old
    /// file is closed once no request uses it. Throws <see cref="MachineConfigurationException"/> for an unknown
    /// disk or an image that cannot be opened or is smaller than a sector.
    /// </summary>
    public void ReplaceDiskImage(string driveId, string path)
    {
        lock (_swapLock)
        {
            if (!_disks.TryGetValue(driveId, out var disk))
                throw new MachineConfigurationException($"there is no disk '{driveId}'");
            var replacement = disk.Drive with { Path = path };
            var file = OpenDisk(replacement);
            var backend = new FileBlockBackend(file, replacement.ReadOnly);
            if (backend.Length < 512)
            {
                file.Dispose();
                throw new MachineConfigurationException($"disk image {path} is smaller than one 512-byte sector");
            }
            FileBlockBackend old;
            try
            {
                old = (FileBlockBackend)disk.Device.ReplaceBackend(backend);
            }
            catch (ArgumentException e)
            {
                // Read-only and writable cannot be swapped for each other: the new file is not used.
                file.Dispose();
                throw new MachineConfigurationException(e.Message);
            }
            _disks[driveId] = (replacement, disk.Device);
            _files.Add(file);
            int index = _files.FindIndex(f => ReferenceEquals(f, old.File));
            if (index >= 0)
            {
                _files[index].Dispose();
                _files.RemoveAt(index);
            }
        }
    }

    /// <summary>The disks by id, in configuration order.</summary>
    public IReadOnlyList<(string Id, VirtioBlock Device)> Disks
    {
        get
        {
            lock (_swapLock)
                return [.. _disks.Select(d => (d.Key, d.Value.Device))];
        }
    }

    /// <summary>
    /// Firecracker's PATCH of a running drive's rate_limiter: each bucket given replaces the disk's (size or
    /// refill time 0 lifts that limit), a bucket left out stays as it is. A request held by the old limits is
    /// tried again at once. Throws <see cref="MachineConfigurationException"/> for an unknown disk.
    /// </summary>
    public void UpdateDiskRateLimiter(string driveId, RateLimiterSettings changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        VirtioBlock device;
        lock (_swapLock)
        {
            if (!_disks.TryGetValue(driveId, out var disk))
                throw new MachineConfigurationException($"there is no disk '{driveId}'");
            device = disk.Device;
        }
        device.Limiter.Patch(changes);
        device.RetryThrottled();
    }

    /// <summary>
    /// Firecracker's PATCH of a running interface's rx_rate_limiter and tx_rate_limiter (null: unchanged), with
    /// the same bucket-by-bucket rule as a disk's. Throws <see cref="MachineConfigurationException"/> for an unknown interface.
    /// </summary>
    public void UpdateNetworkRateLimiters(string interfaceId, RateLimiterSettings? receive, RateLimiterSettings? transmit)
    {
        RateLimitedNetBackend network;
        lock (_swapLock)
        {
            if (!_networks.TryGetValue(interfaceId, out network!))
                throw new MachineConfigurationException($"there is no network interface '{interfaceId}'");
        }
        if (receive is not null)
            network.Receive.Patch(receive);
        if (transmit is not null)
            network.Transmit.Patch(transmit);
        network.RetryThrottled();
    }

    /// <summary>The rx and tx limiters of the running interface <paramref name="interfaceId"/>, or null for an unknown one.</summary>
    public (RateLimiter Receive, RateLimiter Transmit)? NetworkRateLimiters(string interfaceId)
    {
        lock (_swapLock)
            return _networks.TryGetValue(interfaceId, out var network) ? (network.Receive, network.Transmit) : null;
    }

    /// <summary>The rate limiter of the running disk <paramref name="driveId"/>, or null for an unknown disk.</summary>
    public RateLimiter? DiskRateLimiter(string driveId)
    {
        lock (_swapLock)
            return _disks.TryGetValue(driveId, out var disk) ? disk.Device.Limiter : null;
    }

    /// <summary>Which queue broke and why, for the log line of a device in DEVICE_NEEDS_RESET.</summary>
    private static string DescribeFault(IVirtioDevice device)
    {
        if (device is VirtioQueueDevice queues)
        {
            for (int i = 0; i < queues.QueueCount; i++)
            {
                if (queues.GetQueueFault(i) is var fault && fault != QueueFault.None)
                    return $"queue {i}: {fault}";
            }
        }
        return "a queue was malformed";
    }

    /// <summary>The vsock device and its listener at uds_path; throws MachineConfigurationException when the path is taken.</summary>
    private VirtioVsock CreateVsock(VsockConfig vsock)
    {
        UnixVsockBackend backend;
        try
        {
            backend = new UnixVsockBackend(new VsockUnixPaths(vsock.UdsPath), _io);
        }
        catch (Exception e) when (e is SystemCallException or ArgumentException)
        {
            throw new MachineConfigurationException($"vsock uds_path: {e.Message}");
        }
        var device = new VirtioVsock(vsock.GuestCid, backend);
        _owned.Add(device);
        return device;
    }

    /// <summary>Opens a disk image for the guest: read-write unless the drive is read-only. Throws MachineConfigurationException.</summary>
    private static SafeFileHandle OpenDisk(DriveConfig drive)
    {
        try
        {
            return File.OpenHandle(drive.Path, FileMode.Open, drive.ReadOnly ? FileAccess.Read : FileAccess.ReadWrite, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string why = e is UnauthorizedAccessException ? "permission denied" : e.Message;
            throw new MachineConfigurationException(
                $"cannot open disk image {drive.Path} for {(drive.ReadOnly ? "reading" : "reading and writing")}: {why}{(drive.ReadOnly ? "" : " (add ,ro for a read-only disk)")}");
        }
    }

    /// <summary>Attaches to the host TAP of <paramref name="network"/>. Throws MachineConfigurationException.</summary>
    private static TapNetBackend OpenTap(NetworkInterfaceConfig network)
    {
        // TUNSETIFF would create a missing TAP, which would vanish with Ember and carry nobody's traffic.
        if (!TapDevice.InterfaceExists(network.TapName))
            throw new MachineConfigurationException($"TAP '{network.TapName}' does not exist; create it first (ip tuntap add {network.TapName} mode tap && ip link set {network.TapName} up)");
        try
        {
            return new TapNetBackend(TapDevice.Open(network.TapName));
        }
        catch (SystemCallException e)
        {
            // Already one line naming the TAP and the fix (busy, not a TAP, no permission).
            throw new MachineConfigurationException(e.Message);
        }
    }

    public void Dispose()
    {
        // The retry timers, then the I/O loop: no doorbell or retry may reach a device whose file is closed.
        foreach (var timer in _retryTimers)
            timer.Dispose();
        _io.Dispose();
        foreach (var tap in _taps)
            tap.Dispose();
        foreach (var group in _vectorGroups)
            group.Dispose();
        // Host sockets after the loop that served them: the vsock listener's file goes with it.
        foreach (var device in _owned)
            device.Dispose();
        // Under the swap lock: a PATCH of a disk's image may be swapping files in this list.
        lock (_swapLock)
        {
            foreach (var file in _files)
                file.Dispose();
        }
    }
}
