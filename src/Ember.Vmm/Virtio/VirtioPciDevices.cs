using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Block;
using Ember.Devices.Virtio.Entropy;
using Ember.Devices.Virtio.Socket;
using Ember.Devices.Virtio.Transport;
using Ember.Kvm;
using Ember.Memory;
using Ember.Sys;
using Ember.Vmm.Devices;
using Ember.Vmm.Interrupts;
using Ember.Vmm.Machine;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Ember.Vmm.Virtio;

/// <summary>
/// The machine's virtio devices: one virtio-pci function per configured disk, the entropy device and the
/// vsock device, in that order on PCI bus 0. It owns what they use on the host: the disk files, the MSI-X vector groups and
/// the device I/O thread, an event loop that serves the queues' doorbells (ioeventfds), so a guest's queue
/// notification is handled off the vCPU thread without an exit to user space.
/// </summary>
public sealed class VirtioPciDevices : IDisposable
{
    private readonly EventLoop _io = new();
    private readonly List<SafeFileHandle> _files = [];
    private readonly List<IDisposable> _vectorGroups = [];
    private readonly List<IDisposable> _owned = [];
    private readonly List<VirtioPciFunction> _functions = [];
    private readonly Dictionary<string, (DriveConfig Drive, VirtioBlock Device)> _disks = new(StringComparer.Ordinal);
    private readonly object _swapLock = new();

    internal VirtioPciDevices(MachineConfig config, VirtualMachine vm, IGuestMemory memory, IInterruptController interrupts, PciTopology pci, ILogger logger)
    {
        try
        {
            var doorbells = new IoEventDoorbells(vm, _io, logger);
            foreach (var drive in config.Drives)
            {
                var file = OpenDisk(drive);
                _files.Add(file);
                var block = new VirtioBlock(new FileBlockBackend(file, drive.ReadOnly), drive.Id);
                _disks[drive.Id] = (drive, block);
                Add(block, $"virtio-blk {drive.Id} ({drive.Path}{(drive.ReadOnly ? ", read-only" : "")}, {block.CapacitySectors} sectors)");
            }
            if (config.EntropyDevice)
                Add(new VirtioEntropy(), "virtio-rng");
            if (config.Vsock is { } vsock)
                Add(CreateVsock(vsock), $"virtio-vsock (guest CID {vsock.GuestCid}, {vsock.UdsPath})");
            if (_functions.Count > 0)
                _io.Start(ThreadRole.DeviceIo, "virtio");

            void Add(IVirtioDevice device, string what)
            {
                var function = new VirtioPciFunction(device, memory, count =>
                {
                    var group = interrupts.CreateMsiVectors(count, UnconnectedInterruptLine.Instance);
                    _vectorGroups.Add(group);
                    return group;
                }, UnconnectedInterruptLine.Instance, doorbells);
                var address = pci.Add(function);
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
            var old = (FileBlockBackend)disk.Device.ReplaceBackend(backend);
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

    public void Dispose()
    {
        // The I/O loop first: no doorbell may reach a device whose file is closed.
        _io.Dispose();
        foreach (var group in _vectorGroups)
            group.Dispose();
        // Host sockets after the loop that served them: the vsock listener's file goes with it.
        foreach (var device in _owned)
            device.Dispose();
        foreach (var file in _files)
            file.Dispose();
    }
}
