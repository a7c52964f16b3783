using System.Text;
using System.Text.RegularExpressions;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Net;
using Ember.Devices.Virtio.Socket;
using Ember.Sys.Tests.Net;
using Ember.Kvm;
using Ember.Vmm.Host;
using Ember.Vmm.Images;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Linux;

/// <summary>
/// Boots Debian's cloud kernel with the default guest's initramfs and checks what it printed about the
/// machine Ember built: our command line, our e820 map, our ACPI tables (with MCFG for PCI), the IOAPIC,
/// the CPU count and the memory size. On a hardware KVM host the machine also has a read-write disk, a read-only
/// disk, an entropy device, a vsock device and (with root, for the TAP) a network interface on PCI bus 0, which
/// interrupt through MSI-X where there is a LAPIC (kernel and split modes) and through INTx, routed by the DSDT's
/// _PRT to the 8259A, in user-space mode. There the boot goes on to the guest's /init, where Linux's virtio_pci,
/// virtio_blk, virtio_rng, virtio_net and vsock drivers run a guest script (<see cref="GuestScript"/>) that reads
/// the disk's serial and first sector, copies sector 0 to sector 1 with fsync, fails to write the read-only disk,
/// reads /dev/hwrng, brings eth0 up and pings the TAP's far side in a network namespace, and through socat talks to
/// a host listener over AF_VSOCK and answers a host-initiated connection; the guest then powers off and the host
/// checks the disk images, the namespace's ICMP counters, what crossed the Unix sockets, and that every queue
/// notification went through an ioeventfd doorbell. On kvm_pvm the kernel stops at an unemulated instruction long
/// before user space, so there the machine has only its disks and entropy device and the test stops it once it has
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

    /// <summary>What the guest's virtio-vsock driver and the guest's socat print (a vsock device needs no privileges).</summary>
    private static readonly string[] FromVsock =
    [
        @"pci 0000:00:04\.0: \[1af4:1053\]",
        "^VSOCK-REPLY=" + Regex.Escape(LinuxBootVsockHost.HostReplyPrefix + GuestToHostMessage) + "$",
        "^VSOCK-SERVED=0$",
    ];

    /// <summary>What the guest's virtio-net driver and its ping print, when the test could make a TAP (root).</summary>
    private static readonly string[] FromNet =
    [
        @"pci 0000:00:05\.0: \[1af4:1041\]",
        $"^PING-OK replies={PingCount}$",
    ];

    private const int PingCount = 3;
    private const string GuestToHostMessage = "ember-guest-to-host";
    private const ulong GuestCid = 3;
    private const string VsockListeningMarker = "VSOCK-LISTENING";

    /// <summary>
    /// The guest's part, run by /init as its command (from the test's archive, <see cref="LinuxBootGuestFiles"/>).
    /// Host CID 2 is the host, whose port P is the Unix socket "&lt;uds_path&gt;_P". socat half-closes after the
    /// line it sends and waits (-t) for the host to finish its answer; its listener answers one connection.
    /// </summary>
    private static string GuestScript(bool net) => string.Join('\n',
    [
        "echo SERIAL=$(cat /sys/block/vda/serial)",
        "echo SECTOR0=$(head -c 20 /dev/vda)",
        "dd if=/dev/vda of=/dev/vda bs=512 count=1 seek=1 conv=fsync 2>/dev/null && echo COPIED",
        "dd if=/dev/zero of=/dev/vdb bs=512 count=1 conv=fsync 2>/dev/null || echo RO-REFUSED",
        "echo RNG=$(head -c 32 /dev/hwrng | od -An -tx1 | tr -d ' \\n')",
        .. net
            ? (string[])[
                // virtio_net names the only interface eth0 (no udev here); busybox's ip and ping.
                "ip link set eth0 up",
                $"ip addr add {LinuxBootNetwork.GuestAddress}/{LinuxBootNetwork.PrefixLength} dev eth0",
                $"ping -c {PingCount} -W 30 {LinuxBootNetwork.HostAddress} > /tmp/ping 2>&1",
                "cat /tmp/ping",
                $"echo PING-OK replies=$(grep -c 'bytes from {LinuxBootNetwork.HostAddress}' /tmp/ping)",
            ]
            : [],
        "export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu",
        $"echo VSOCK-REPLY=$(echo {GuestToHostMessage} | socat -t 60 - VSOCK-CONNECT:2:{LinuxBootVsockHost.HostPort})",
        $"echo {VsockListeningMarker}",
        $"timeout 300 socat VSOCK-LISTEN:{LinuxBootVsockHost.GuestPort} 'SYSTEM:read line; echo guest-heard $line'",
        "echo VSOCK-SERVED=$?",
        "",
    ]);

    private readonly string _directory = Directory.CreateTempSubdirectory("ember-linux-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>
    /// The watchdog is a safety net, not a verdict: several times the slowest boot measured (about a minute
    /// on kvm_pvm for the PVH path, three with the kernel's own decompressor running in the emulator;
    /// seconds on hardware, under a minute in the nested test VM), so only a guest that is stuck trips it.
    /// </summary>
    private static TimeSpan Watchdog(bool software, bool decompress) =>
        software ? TimeSpan.FromMinutes(decompress ? 15 : 30) : TimeSpan.FromMinutes(10);

    private static ulong NegotiatedFeatures(IVirtioDevice device) => device switch
    {
        VirtioQueueDevice queues => queues.NegotiatedFeatures,
        VirtioNet net => net.NegotiatedFeatures,
        VirtioVsock vsock => vsock.NegotiatedFeatures,
        _ => 0,
    };

    public void Boot(bool decompress, IrqchipMode irqchip)
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        string? kernel = LinuxKernelLocator.FindCloudKernel();
        Assert.SkipWhen(kernel is null, "linux-image-cloud-amd64 is not installed (test.sh installs it)");

        var image = DefaultGuestImage.Build(new GuestImageOptions { KernelPath = kernel });
        bool software = KvmHostReport.DetectFlavour("/sys/module") == KvmFlavour.SoftwarePvm;
        bool apic = irqchip != IrqchipMode.Userspace;
        string[] early = [.. Common, .. apic ? WithApic : WithoutApic];
        if (!software)
            Assert.SkipWhen(LinuxBootGuestFiles.MissingPrerequisite() is not null, LinuxBootGuestFiles.MissingPrerequisite() ?? "");
        // TAPs and network namespaces need root (CAP_NET_ADMIN), as the KVM tests have in the nested VM; without
        // it the boot still checks everything else and says that eth0 was not.
        string? netMissing = software ? "Linux does not reach user space on kvm_pvm" : NetworkNamespace.MissingPrerequisite();
        bool net = netMissing is null;
        string[] required = software
            ? early
            :
            [
                .. early, .. FromVirtioDrivers, .. FromVsock, .. net ? FromNet : [],
                Regex.Escape(GuestInitScript.ReadyMarker), Regex.Escape(GuestInitScript.ExitMarkerPrefix) + "0",
            ];

        string disk = Path.Combine(_directory, "disk0.img");
        string readOnlyDisk = Path.Combine(_directory, "disk1.img");
        var sector0 = new byte[512];
        Encoding.ASCII.GetBytes(DiskMarker).CopyTo(sector0, 0);
        var image0 = new byte[1 << 20];
        sector0.CopyTo(image0, 0);
        File.WriteAllBytes(disk, image0);
        var image1 = Enumerable.Repeat((byte)0x5A, 64 * 1024).ToArray();
        File.WriteAllBytes(readOnlyDisk, image1);

        using var network = net ? LinuxBootNetwork.Create() : null;
        string uds = Path.Combine(_directory, "v.sock");
        using var vsockHost = software ? null : new LinuxBootVsockHost(uds);

        MicroVm? machine = null;
        int[] doorbellsWhileRunning = [];
        ulong[] featuresWhileRunning = [];
        var watch = new LinuxBootWatch(required, () =>
        {
            doorbellsWhileRunning = [.. machine!.Virtio.Functions.Select(f => f.AttachedDoorbells)];
            featuresWhileRunning = [.. machine.Virtio.Functions.Select(f => NegotiatedFeatures(f.Device))];
            if (software)
                machine.RequestStop("all early-boot lines seen");
        }, line =>
        {
            if (line == VsockListeningMarker)
                vsockHost?.ConnectToGuestSoon();
        });
        var config = new MachineConfig
        {
            KernelPath = kernel!,
            InitrdPath = software ? image.InitrdPath : LinuxBootGuestFiles.WriteInitrd(image.InitrdPath, _directory, GuestScript(net)),
            // x86-64 Linux assumes a local APIC unless told otherwise: in user-space mode there is none.
            CommandLine = $"{image.CommandLine} {(apic ? "" : "nolapic noapic ")}{TestParameters} {GuestCommand.ToKernelArgument(["sh", LinuxBootGuestFiles.ScriptPath])}",
            VcpuCount = apic ? 2 : 1,
            Irqchip = irqchip,
            MemorySize = 256UL << 20,
            // The software-KVM mask on both KVMs, so hardware boots the same CPU view kvm_pvm does.
            CpuidMask = DefaultGuestImage.SoftwareKvmCpuidMask,
            Console = ConsoleKind.None,
            DecompressBzImage = decompress,
            Drives = [new DriveConfig("disk0", disk), new DriveConfig("disk1", readOnlyDisk, ReadOnly: true)],
            EntropyDevice = true,
            // Slots 00:04.0 and 00:05.0, after the disks and the entropy device.
            Vsock = software ? null : new VsockConfig(GuestCid, uds),
            NetworkInterfaces = network is null ? [] : [new NetworkInterfaceConfig("net0", network.TapName, MacAddress.Parse("02:00:00:00:05:02"))],
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
            network?.MoveTapIntoNamespace();
            exit = machine.Run();
            notifyExits = machine.Virtio.Functions.Sum(f => f.NotifyRegionWrites);
        }
        vsockHost?.Finish();
        string path = decompress ? "PVH (Ember decompressed the bzImage)" : "bzImage (the kernel's own decompressor)";
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"path={path} irqchip={irqchip} host={(software ? "kvm_pvm" : "hardware")} exit={exit.Reason}: {exit.Message}; " +
            $"doorbells {string.Join(",", doorbellsWhileRunning)}; notify exits {notifyExits}; " +
            $"negotiated features {string.Join(",", featuresWhileRunning.Select(f => f.ToString("x")))}; " +
            $"eth0 {(net ? "pinged the TAP" : $"not checked ({netMissing})")}; " +
            (vsockHost is null ? "vsock not checked" : $"vsock: guest said '{vsockHost.GuestSaid}', guest answered '{vsockHost.GuestAnswered}' after {vsockHost.ConnectAttempts} CONNECTs {vsockHost.Problems}") +
            $"\n{watch.Progress()}");
        var pending = watch.Pending;
        Assert.True(pending.Count == 0,
            (watchdogFired ? $"the {watchdog.TotalMinutes:F0}-minute safety-net watchdog stopped a guest that made no further progress; " : "") +
            $"missing lines: {string.Join(" | ", pending)}\nexit: {exit.Reason} {exit.Message}\n{vsockHost?.Problems}\n{watch.Progress()}");
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
        // What crossed the Unix sockets, as the host programs saw it (the guest printed the other half).
        Assert.Equal(GuestToHostMessage, vsockHost!.GuestSaid);
        Assert.Equal("guest-heard " + LinuxBootVsockHost.HostMessage, vsockHost.GuestAnswered);
        if (network is not null)
        {
            // The namespace's kernel received the guest's echo requests and answered each: as many as the guest counted.
            var (requests, replies) = network.IcmpEchoCounters();
            Assert.Equal(PingCount, requests);
            Assert.Equal(PingCount, replies);
        }
        // Each device's queues had a doorbell (an ioeventfd) while the guest used them, and no notification
        // exited: a disk has one queue per vCPU (VIRTIO_BLK_F_MQ), the entropy device one, vsock three (rx, tx,
        // event), the network interface two (rx, tx).
        Assert.Equal([config.VcpuCount, config.VcpuCount, 1, 3, .. network is null ? (int[])[] : [2]], doorbellsWhileRunning);
        Assert.Equal(0, notifyExits);
        // Linux's virtio_ring drives a queue as a packed ring whenever RING_PACKED is negotiated: every device here did.
        Assert.Equal(network is null ? 4 : 5, featuresWhileRunning.Length);
        Assert.All(featuresWhileRunning, f => Assert.True((f & VirtioFeature.RingPacked) != 0, $"RING_PACKED not negotiated: features {f:x}"));
    }
}
