using System.Text.RegularExpressions;
using Ember.Kvm;
using Ember.Vmm.Host;
using Ember.Vmm.Images;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Linux;

/// <summary>
/// Boots Debian's cloud kernel with the default guest's initramfs and checks what it printed about the
/// machine Ember built: our command line, our e820 map, our ACPI tables, the IOAPIC, the CPU count and
/// the memory size. On a hardware KVM host the boot goes on to the guest's /init, its ready marker, a
/// command and ACPI power-off. On kvm_pvm the kernel stops at an unemulated instruction after those
/// lines, so there the test stops the machine once it has seen them.
/// </summary>
internal static class LinuxBootScenario
{
    public const string TestParameters = "noxsave ember.test=early-boot";

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

    /// <summary>
    /// The watchdog is a safety net, not a verdict: several times the slowest boot measured (about 2 min on
    /// kvm_pvm for the PVH path, more with the kernel's own decompressor running in the emulator; seconds
    /// on hardware, under a minute in the nested test VM), so only a guest that is stuck trips it.
    /// </summary>
    private static TimeSpan Watchdog(bool software, bool decompress) =>
        software ? TimeSpan.FromMinutes(decompress ? 15 : 30) : TimeSpan.FromMinutes(10);

    public static void Boot(bool decompress, IrqchipMode irqchip)
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
            : [.. early, Regex.Escape(GuestInitScript.ReadyMarker), Regex.Escape(GuestInitScript.ExitMarkerPrefix) + "0"];
        MicroVm? machine = null;
        var watch = new LinuxBootWatch(required, () =>
        {
            if (software)
                machine?.RequestStop("all early-boot lines seen");
        });
        var config = new MachineConfig
        {
            KernelPath = kernel!,
            InitrdPath = image.InitrdPath,
            // x86-64 Linux assumes a local APIC unless told otherwise: in user-space mode there is none.
            CommandLine = $"{image.CommandLine} {(apic ? "" : "nolapic noapic ")}{TestParameters} {GuestCommand.ToKernelArgument(["true"])}",
            VcpuCount = apic ? 2 : 1,
            Irqchip = irqchip,
            MemorySize = 256UL << 20,
            CpuidMask = ["cx16", "xsave"],
            Console = ConsoleKind.None,
            DecompressBzImage = decompress,
        };
        var watchdog = Watchdog(software, decompress);
        MachineExit exit;
        bool watchdogFired = false;
        using (machine = MicroVm.Create(config, watch))
        {
            using var timer = new Timer(_ =>
            {
                watchdogFired = true;
                machine.RequestStop("test watchdog");
            }, null, watchdog, Timeout.InfiniteTimeSpan);
            exit = machine.Run();
        }
        string path = decompress ? "PVH (Ember decompressed the bzImage)" : "bzImage (the kernel's own decompressor)";
        TestContext.Current.TestOutputHelper?.WriteLine($"path={path} irqchip={irqchip} host={(software ? "kvm_pvm" : "hardware")} exit={exit.Reason}: {exit.Message}\n{watch.Progress()}");
        var pending = watch.Pending;
        Assert.True(pending.Count == 0,
            (watchdogFired ? $"the {watchdog.TotalMinutes:F0}-minute safety-net watchdog stopped a guest that made no further progress; " : "") +
            $"missing lines: {string.Join(" | ", pending)}\nexit: {exit.Reason} {exit.Message}\n{watch.Progress()}");
        // On kvm_pvm the test stopped the machine once it had seen everything; on hardware the guest powers itself off.
        Assert.True((software ? MachineStopReason.HostRequest : MachineStopReason.PowerOff) == exit.Reason,
            $"expected {(software ? "the test's stop" : "ACPI power-off")}, got {exit.Reason}: {exit.Message}\n{watch.Progress()}");
    }
}
