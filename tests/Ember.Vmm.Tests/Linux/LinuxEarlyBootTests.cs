using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Ember.Devices.Legacy;
using Ember.Kvm;
using Ember.Vmm.Host;
using Ember.Vmm.Images;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Linux;

/// <summary>
/// Boots Debian's cloud kernel with 2 vCPUs and checks what it printed about the machine Ember built:
/// our command line, our e820 map, our ACPI tables, the IOAPIC, the CPU count and the memory size.
/// On this software-KVM host the kernel stops at an int3 self-test after those lines (the test stops
/// as soon as it has seen them); on a hardware KVM host the same boot goes on to the default guest's
/// /init, its ready marker, a command, and ACPI power-off.
/// </summary>
[Trait("Requires", "kvm")]
[Trait("Speed", "slow")]
public sealed partial class LinuxEarlyBootTests
{
    private const string TestParameters = "noxsave ember.test=early-boot";

    /// <summary>Lines every early boot must print, as regular expressions.</summary>
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

    private sealed class WatchedConsole(Action<string> onLine) : ISerialOutput
    {
        private readonly StringBuilder _all = new();
        private readonly StringBuilder _line = new();

        public void Write(ReadOnlySpan<byte> data)
        {
            foreach (byte b in data)
            {
                _all.Append((char)b);
                if (b == '\n')
                {
                    onLine(_line.ToString());
                    _line.Clear();
                }
                else if (b != '\r')
                {
                    _line.Append((char)b);
                }
            }
        }

        public string Text => _all.ToString();
    }

    [Theory]
    [InlineData(true, IrqchipMode.Split)]      // Ember decompresses the bzImage and enters the vmlinux through PVH
    [InlineData(false, IrqchipMode.Split)]     // the kernel's own bzImage 64-bit entry and decompressor
    [InlineData(true, IrqchipMode.Kernel)]
    [InlineData(true, IrqchipMode.Userspace)]
    public void DebianCloudKernelReportsTheMachineEmberBuilt(bool decompress, IrqchipMode irqchip)
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        string? kernel = LinuxKernelLocator.FindCloudKernel();
        Assert.SkipWhen(kernel is null, "linux-image-cloud-amd64 is not installed (test.sh installs it)");

        // The default guest's initramfs: on a hardware KVM host the kernel goes on to /init, which
        // prints the ready marker, runs the command and powers off.
        var image = DefaultGuestImage.Build(new GuestImageOptions { KernelPath = kernel });
        bool software = KvmHostReport.DetectFlavour("/sys/module") == KvmFlavour.SoftwarePvm;
        bool apic = irqchip != IrqchipMode.Userspace;
        string[] early = [.. Common, .. apic ? WithApic : WithoutApic];
        var required = software ? early : [.. early, Regex.Escape(GuestInitScript.ReadyMarker), Regex.Escape(GuestInitScript.ExitMarkerPrefix) + "0"];
        var pending = required.Select(p => new Regex(p, RegexOptions.CultureInvariant)).ToList();
        var timeline = new List<string>();
        var clock = Stopwatch.StartNew();
        MicroVm? machine = null;
        var console = new WatchedConsole(line =>
        {
            lock (pending)
            {
                int before = pending.Count;
                pending.RemoveAll(r => r.IsMatch(line));
                if (pending.Count < before && (line.Contains("Linux version") || line.Contains("Memory:")))
                    timeline.Add($"{clock.Elapsed.TotalSeconds:F1}s {line[..Math.Min(line.Length, 60)]}");
                if (pending.Count == 0 && software)
                    machine?.RequestStop("all early-boot lines seen");
            }
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
        MachineExit exit;
        using (machine = MicroVm.Create(config, console))
        {
            using var watchdog = new Timer(_ => machine.RequestStop("test watchdog"), null, TimeSpan.FromMinutes(4), Timeout.InfiniteTimeSpan);
            exit = machine.Run();
        }
        TestContext.Current.TestOutputHelper?.WriteLine($"path={(decompress ? "pvh" : "bzImage")} irqchip={irqchip} exit={exit.Reason}: {exit.Message}\n{string.Join("\n", timeline)}");
        Assert.True(pending.Count == 0,
            $"missing lines: {string.Join(" | ", pending)}\nexit: {exit.Reason} {exit.Message}\nconsole tail:\n{Tail(console.Text)}");
        // Here the test stopped the machine once it had seen everything; on hardware the guest powers itself off.
        Assert.Equal(software ? MachineStopReason.HostRequest : MachineStopReason.PowerOff, exit.Reason);
    }

    private static string Tail(string text) => text.Length <= 3000 ? text : text[^3000..];
}
