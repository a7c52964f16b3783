using System.Text;
using System.Text.RegularExpressions;
using Ember.Kvm;
using Ember.Vmm.Host;
using Ember.Vmm.Images;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Linux;

/// <summary>
/// Linux's own drivers on Ember's virtio-pci devices: Debian's cloud kernel finds a read-write disk, a
/// read-only disk and an entropy device on PCI bus 0 (through ACPI's PCI0 and ECAM), loads virtio_pci,
/// virtio_blk and virtio_rng from the default initramfs, and a guest command reads the disk's serial and
/// first sector, copies sector 0 to sector 1 with O_SYNC-style writes, fails to write the read-only disk,
/// and reads /dev/hwrng. The host then checks the disk image itself. Queue notifications must have gone
/// through the ioeventfd doorbells (no notify-region exits). On kvm_pvm the kernel stops before PCI is
/// probed (see the host-quirks doc), so there the test checks only that the MCFG table was found.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class LinuxVirtioTests : IDisposable
{
    private const string Marker = "EMBER-VIRTIO-DISK-OK";
    private readonly string _directory = Directory.CreateTempSubdirectory("ember-virtio-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private const string GuestScript =
        "echo SERIAL=$(cat /sys/block/vda/serial); " +
        "echo SECTOR0=$(head -c 20 /dev/vda); " +
        "dd if=/dev/vda of=/dev/vda bs=512 count=1 seek=1 conv=fsync 2>/dev/null && echo COPIED; " +
        "dd if=/dev/zero of=/dev/vdb bs=512 count=1 conv=fsync 2>/dev/null || echo RO-REFUSED; " +
        "echo RNG=$(head -c 32 /dev/hwrng | od -An -tx1 | tr -d ' \\n')";

    [Theory]
    [InlineData(IrqchipMode.Split)]
    [InlineData(IrqchipMode.Kernel)]
    public void LinuxDriversUseTheDisksAndTheEntropyDevice(IrqchipMode irqchip)
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        string? kernel = LinuxKernelLocator.FindCloudKernel();
        Assert.SkipWhen(kernel is null, "linux-image-cloud-amd64 is not installed (test.sh installs it)");
        bool software = KvmHostReport.DetectFlavour("/sys/module") == KvmFlavour.SoftwarePvm;

        string disk = Path.Combine(_directory, "disk0.img");
        var sector0 = new byte[512];
        Encoding.ASCII.GetBytes(Marker).CopyTo(sector0, 0);
        var image0 = new byte[1 << 20];
        sector0.CopyTo(image0, 0);
        File.WriteAllBytes(disk, image0);
        string readOnlyDisk = Path.Combine(_directory, "disk1.img");
        var image1 = Enumerable.Repeat((byte)0x5A, 64 * 1024).ToArray();
        File.WriteAllBytes(readOnlyDisk, image1);

        var guest = DefaultGuestImage.Build(new GuestImageOptions { KernelPath = kernel });
        string[] required = software
            ? [@"ACPI: MCFG 0x"]
            :
            [
                @"pci 0000:00:01\.0: \[1af4:1042\]",
                @"pci 0000:00:02\.0: \[1af4:1042\]",
                @"pci 0000:00:03\.0: \[1af4:1044\]",
                @"\[vda\] 2048 512-byte logical blocks",
                @"\[vdb\] 128 512-byte logical blocks",
                "^SERIAL=disk0$",
                "^SECTOR0=" + Marker + "$",
                "^COPIED$",
                "^RO-REFUSED$",
                "^RNG=[0-9a-f]{64}$",
                Regex.Escape(GuestInitScript.ExitMarkerPrefix) + "0",
            ];
        MicroVm? machine = null;
        int[] doorbellsWhileRunning = [];
        var watch = new LinuxBootWatch(required, () =>
        {
            doorbellsWhileRunning = [.. machine!.Virtio.Functions.Select(f => f.AttachedDoorbells)];
            if (software)
                machine.RequestStop("MCFG seen");
        });
        var config = new MachineConfig
        {
            KernelPath = kernel!,
            InitrdPath = guest.InitrdPath,
            CommandLine = $"{guest.CommandLine} noxsave {GuestCommand.ToKernelArgument(["sh", "-c", GuestScript])}",
            VcpuCount = 1,
            Irqchip = irqchip,
            MemorySize = 256UL << 20,
            CpuidMask = ["cx16", "xsave"],
            Console = ConsoleKind.None,
            Drives = [new DriveConfig("disk0", disk), new DriveConfig("disk1", readOnlyDisk, ReadOnly: true)],
            EntropyDevice = true,
        };
        var watchdog = TimeSpan.FromMinutes(software ? 30 : 10);
        MachineExit exit;
        long notifyExits;
        using (machine = MicroVm.Create(config, watch))
        {
            using var timer = new Timer(_ => machine.RequestStop("test watchdog"), null, watchdog, Timeout.InfiniteTimeSpan);
            exit = machine.Run();
            notifyExits = machine.Virtio.Functions.Sum(f => f.NotifyRegionWrites);
        }
        TestContext.Current.TestOutputHelper?.WriteLine($"irqchip={irqchip} exit={exit.Reason}: {exit.Message}; doorbells {string.Join(",", doorbellsWhileRunning)}; notify exits {notifyExits}\n{watch.Progress()}");
        Assert.True(watch.Pending.Count == 0,
            $"missing lines: {string.Join(" | ", watch.Pending)}\nexit: {exit.Reason} {exit.Message}\n{watch.Progress()}");
        if (software)
            return;

        Assert.Equal(MachineStopReason.PowerOff, exit.Reason);
        var after0 = File.ReadAllBytes(disk);
        Assert.Equal(sector0, after0[..512]);
        Assert.Equal(sector0, after0[512..1024]);                     // the guest's copy, through virtio-blk
        Assert.True(after0.AsSpan(1024).IndexOfAnyExcept((byte)0) < 0, "the guest wrote beyond sector 1");
        Assert.Equal(image1, File.ReadAllBytes(readOnlyDisk));          // the read-only disk is untouched
        // Each device's queue had a doorbell (an ioeventfd) while the guest used it, and no notification exited.
        Assert.Equal([1, 1, 1], doorbellsWhileRunning);
        Assert.Equal(0, notifyExits);
    }
}
