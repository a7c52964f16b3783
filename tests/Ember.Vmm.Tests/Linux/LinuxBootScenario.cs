using System.Text;
using System.Text.RegularExpressions;
using Ember.Devices.Virtio;
using Ember.Kvm;
using Ember.Vmm.Host;
using Ember.Vmm.Images;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Linux;

/// <summary>
/// Boots Debian's cloud kernel with the default guest's initramfs and checks what it printed about the
/// machine Ember built: our command line, our e820 map, our ACPI tables (with MCFG for PCI), the IOAPIC,
/// the CPU count and the memory size. The machine also has a read-write disk, a read-only disk and an
/// entropy device on PCI bus 0, which interrupt through MSI-X where there is a LAPIC (kernel and split
/// modes) and through INTx, routed by the DSDT's _PRT to the 8259A, in user-space mode. On a hardware KVM host the boot
/// goes on to the guest's /init, where Linux's virtio_pci, virtio_blk and virtio_rng drivers run a guest
/// command that reads the disk's serial and first sector, copies sector 0 to sector 1 with fsync, fails to
/// write the read-only disk and reads /dev/hwrng; the guest then powers off and the host checks the disk
/// images and that every queue notification went through an ioeventfd doorbell. On kvm_pvm the kernel
/// stops at an unemulated instruction long before that, so there the test stops the machine once it has
/// seen the early lines. One boot covers all of this, because on a software KVM each boot costs a minute.
/// </summary>
internal sealed class LinuxBootScenario : IDisposable
{
    /// <summary>
    /// earlyprintk puts each line on COM1 as it is printed, instead of when the serial console registers
    /// (half a minute of emulated boot later on kvm_pvm), so the test can stop as soon as it has its lines.
    /// </summary>
    public const string TestParameters = "noxsave earlyprintk=serial,ttyS0 ember.test=early-boot";

    private const string DiskMarker = "EMBER-VIRTIO-DISK-OK";

    /// <summary>Lines every boot must print, as regular expressions.</summary>
    private static readonly string[] Common =
    [
        @"Linux version \d+\.\d+",
        @"Command line: console=ttyS0 .*" + Regex.Escape(TestParameters),
        @"BIOS-e820: \[mem 0x0000000000000000-0x000000000009fbff\] usable",
        @"BIOS-e820: \[mem 0x0000000000100000-0x000000000fffffff\] usable",
        @"ACPI: RSDP 0x00000000000E0000",
        @"ACPI: XSDT 0x",
        @"ACPI: FACP 0x",
        @"ACPI: MCFG 0x",
        @"Memory: \d+K/2617\d\dK available",
    ];

    /// <summary>With a LAPIC and IOAPIC (kernel and split modes): our MADT, its IOAPIC and both CPUs.</summary>
    private static readonly string[] WithApic =
    [
        @"ACPI: APIC 0x",
        @"IOAPIC\[0\]: apic_id 0, version \d+, address 0xfec00000, GSI 0-23",
        @"smpboot: Allowing 2 CPUs",
    ];

    /// <summary>User-space mode: no MADT, one CPU, and the kernel left on the 8259A.</summary>
    private static readonly string[] WithoutApic =
    [
        @"smpboot: Allowing 1 CPUs",
        @"APIC: Keep in PIC mode\(8259\)",
    ];

    /// <summary>What Linux's virtio drivers and the guest command print, where Linux reaches user space.</summary>
    private static readonly string[] FromVirtioDrivers =
    [
        @"pci 0000:00:01\.0: \[1af4:1042\]",
        @"pci 0000:00:02\.0: \[1af4:1042\]",
        @"pci 0000:00:03\.0: \[1af4:1044\]",
        @"\[vda\] 2048 512-byte logical blocks",
        @"\[vdb\] 128 512-byte logical blocks",
        "^SERIAL=disk0$",
        "^SECTOR0=" + DiskMarker + "$",
        "^COPIED$",
        "^RO-REFUSED$",
        "^RNG=[0-9a-f]{64}$",
    ];

    private const string VirtioGuestScript =
        "echo SERIAL=$(cat /sys/block/vda/serial); " +
        "echo SECTOR0=$(head -c 20 /dev/vda); " +
        "dd if=/dev/vda of=/dev/vda bs=512 count=1 seek=1 conv=fsync 2>/dev/null && echo COPIED; " +
        "dd if=/dev/zero of=/dev/vdb bs=512 count=1 conv=fsync 2>/dev/null || echo RO-REFUSED; " +
        "echo RNG=$(head -c 32 /dev/hwrng | od -An -tx1 | tr -d ' \\n')";

    private readonly string _directory = Directory.CreateTempSubdirectory("ember-linux-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>
    /// The watchdog is a safety net, not a verdict: several times the slowest boot measured (about a minute
    /// on kvm_pvm for the PVH path, three with the kernel's own decompressor running in the emulator;
    /// seconds on hardware, under a minute in the nested test VM), so only a guest that is stuck trips it.
    /// </summary>
    private static TimeSpan Watchdog(bool software, bool decompress) =>
        software ? TimeSpan.FromMinutes(decompress ? 15 : 30) : TimeSpan.FromMinutes(10);

    public void Boot(bool decompress, IrqchipMode irqchip)
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        string? kernel = LinuxKernelLocator.FindCloudKernel();
        Assert.SkipWhen(kernel is null, "linux-image-cloud-amd64 is not installed (test.sh installs it)");

        var image = DefaultGuestImage.Build(new GuestImageOptions { KernelPath = kernel });
        bool software = KvmHostReport.DetectFlavour("/sys/module") == KvmFlavour.SoftwarePvm;
        bool apic = irqchip != IrqchipMode.Userspace;
        string[] early = [.. Common, .. apic ? WithApic : WithoutApic];
        string[] required = software
            ? early
            : [.. early, .. FromVirtioDrivers, Regex.Escape(GuestInitScript.ReadyMarker), Regex.Escape(GuestInitScript.ExitMarkerPrefix) + "0"];

        string disk = Path.Combine(_directory, "disk0.img");
        string readOnlyDisk = Path.Combine(_directory, "disk1.img");
        var sector0 = new byte[512];
        Encoding.ASCII.GetBytes(DiskMarker).CopyTo(sector0, 0);
        var image0 = new byte[1 << 20];
        sector0.CopyTo(image0, 0);
        File.WriteAllBytes(disk, image0);
        var image1 = Enumerable.Repeat((byte)0x5A, 64 * 1024).ToArray();
        File.WriteAllBytes(readOnlyDisk, image1);

        MicroVm? machine = null;
        int[] doorbellsWhileRunning = [];
        ulong[] featuresWhileRunning = [];
        var watch = new LinuxBootWatch(required, () =>
        {
            doorbellsWhileRunning = [.. machine!.Virtio.Functions.Select(f => f.AttachedDoorbells)];
            featuresWhileRunning = [.. machine.Virtio.Functions.Select(f => (f.Device as VirtioQueueDevice)?.NegotiatedFeatures ?? 0)];
            if (software)
                machine.RequestStop("all early-boot lines seen");
        });
        var config = new MachineConfig
        {
            KernelPath = kernel!,
            InitrdPath = image.InitrdPath,
            // x86-64 Linux assumes a local APIC unless told otherwise: in user-space mode there is none.
            CommandLine = $"{image.CommandLine} {(apic ? "" : "nolapic noapic ")}{TestParameters} {GuestCommand.ToKernelArgument(["sh", "-c", VirtioGuestScript])}",
            VcpuCount = apic ? 2 : 1,
            Irqchip = irqchip,
            MemorySize = 256UL << 20,
            CpuidMask = ["cx16", "xsave"],
            Console = ConsoleKind.None,
            DecompressBzImage = decompress,
            Drives = [new DriveConfig("disk0", disk), new DriveConfig("disk1", readOnlyDisk, ReadOnly: true)],
            EntropyDevice = true,
        };
        var watchdog = Watchdog(software, decompress);
        MachineExit exit;
        bool watchdogFired = false;
        long notifyExits;
        using (machine = MicroVm.Create(config, watch))
        {
            using var timer = new Timer(_ =>
            {
                watchdogFired = true;
                machine.RequestStop("test watchdog");
            }, null, watchdog, Timeout.InfiniteTimeSpan);
            exit = machine.Run();
            notifyExits = machine.Virtio.Functions.Sum(f => f.NotifyRegionWrites);
        }
        string path = decompress ? "PVH (Ember decompressed the bzImage)" : "bzImage (the kernel's own decompressor)";
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"path={path} irqchip={irqchip} host={(software ? "kvm_pvm" : "hardware")} exit={exit.Reason}: {exit.Message}; " +
            $"doorbells {string.Join(",", doorbellsWhileRunning)}; notify exits {notifyExits}; " +
            $"negotiated features {string.Join(",", featuresWhileRunning.Select(f => f.ToString("x")))}\n{watch.Progress()}");
        var pending = watch.Pending;
        Assert.True(pending.Count == 0,
            (watchdogFired ? $"the {watchdog.TotalMinutes:F0}-minute safety-net watchdog stopped a guest that made no further progress; " : "") +
            $"missing lines: {string.Join(" | ", pending)}\nexit: {exit.Reason} {exit.Message}\n{watch.Progress()}");
        // On kvm_pvm the test stopped the machine once it had seen everything; on hardware the guest powers itself off.
        Assert.True((software ? MachineStopReason.HostRequest : MachineStopReason.PowerOff) == exit.Reason,
            $"expected {(software ? "the test's stop" : "ACPI power-off")}, got {exit.Reason}: {exit.Message}\n{watch.Progress()}");
        if (software)
            return;

        var after0 = File.ReadAllBytes(disk);
        Assert.Equal(sector0, after0[..512]);
        Assert.Equal(sector0, after0[512..1024]);                     // the guest's copy, through virtio-blk
        Assert.True(after0.AsSpan(1024).IndexOfAnyExcept((byte)0) < 0, "the guest wrote beyond sector 1");
        Assert.Equal(image1, File.ReadAllBytes(readOnlyDisk));          // the read-only disk is untouched
        // Each device's queues had a doorbell (an ioeventfd) while the guest used them, and no notification
        // exited: a disk has one queue per vCPU (VIRTIO_BLK_F_MQ), the entropy device one.
        Assert.Equal([config.VcpuCount, config.VcpuCount, 1], doorbellsWhileRunning);
        Assert.Equal(0, notifyExits);
        // Linux's virtio_ring drives a queue as a packed ring whenever RING_PACKED is negotiated: every device here did.
        Assert.Equal(3, featuresWhileRunning.Length);
        Assert.All(featuresWhileRunning, f => Assert.True((f & VirtioFeature.RingPacked) != 0, $"RING_PACKED not negotiated: features {f:x}"));
    }
}
