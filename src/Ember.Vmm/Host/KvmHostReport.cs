using Ember.Kvm;
using Ember.Vmm.Cpu;

namespace Ember.Vmm.Host;

/// <summary>
/// What `ember doctor` reports: whether /dev/kvm is usable, whether it is hardware or the
/// software kvm_pvm, the API version, and each capability Ember uses.
/// </summary>
public sealed record KvmHostReport(
    string DevicePath,
    bool DeviceUsable,
    string? OpenError,
    int ApiVersion,
    KvmFlavour Flavour,
    bool CpuHasVmx,
    bool CpuHasSvm,
    IReadOnlyList<CapabilityStatus> Capabilities)
{
    /// <summary>Which CPUID features `--cpuid-mask` can hide here (<see cref="CpuidMaskProbe"/>); null when the probe could not run.</summary>
    public CpuidMaskReport? CpuidMasking { get; init; }

    /// <summary>The capabilities Ember asks for, whether a missing one stops Ember, and why it wants each.</summary>
    public static readonly IReadOnlyList<(KvmCapability Capability, bool Required, string UsedFor)> UsedCapabilities =
    [
        (KvmCapability.UserMemory, true, "guest RAM from host mappings"),
        (KvmCapability.IoEventFd, true, "virtio queue notifications without an exit"),
        (KvmCapability.IoEventFdAnyLength, false, "virtio doorbells that match any write width (without: 16-bit queue-index ioeventfds)"),
        (KvmCapability.Irqfd, true, "device interrupts from eventfds"),
        (KvmCapability.IrqfdResample, false, "level-triggered irqfds (in-kernel irqchip)"),
        (KvmCapability.IrqRouting, true, "GSI routing table"),
        (KvmCapability.SignalMsi, true, "MSI injection"),
        (KvmCapability.Irqchip, false, "in-kernel PIC/IOAPIC/LAPIC (--irqchip kernel)"),
        (KvmCapability.SplitIrqchip, false, "in-kernel LAPIC with user-space IOAPIC/PIC/PIT (--irqchip split)"),
        (KvmCapability.Pit2, false, "in-kernel PIT (--irqchip kernel)"),
        (KvmCapability.UserNmi, true, "KVM_NMI (LINT1 NMIs)"),
        (KvmCapability.SetTssAddr, false, "real-mode TSS on Intel"),
        (KvmCapability.SetIdentityMapAddr, false, "EPT identity map on Intel"),
        (KvmCapability.ExtCpuid, true, "KVM_GET_SUPPORTED_CPUID"),
        (KvmCapability.MpState, true, "SMP bring-up (INIT/SIPI)"),
        (KvmCapability.VcpuEvents, false, "saving pending events"),
        (KvmCapability.Xcrs, false, "XCR0 state"),
        (KvmCapability.ImmediateExit, true, "kicking vCPUs out of KVM_RUN"),
        (KvmCapability.X2ApicApi, false, "x2APIC IDs in MSI routes"),
        (KvmCapability.TscDeadlineTimer, false, "TSC-deadline timer for guests"),
        (KvmCapability.ReadonlyMem, false, "read-only memory slots (flash, ROM)"),
        (KvmCapability.MaxVcpus, true, "SMP limit"),
        (KvmCapability.NrMemslots, true, "memory slot count"),
    ];

    public static KvmHostReport Probe(string devicePath = KvmSystem.DefaultDevicePath, string procRoot = "/proc", string sysRoot = "/sys")
    {
        var (vmx, svm) = ReadCpuVirtualizationFlags(Path.Combine(procRoot, "cpuinfo"));
        var flavour = DetectFlavour(Path.Combine(sysRoot, "module"));
        KvmSystem kvm;
        try
        {
            kvm = KvmSystem.Open(devicePath);
        }
        catch (KvmException e)
        {
            return new KvmHostReport(devicePath, false, e.Message, 0, KvmFlavour.Absent, vmx, svm, []);
        }
        using (kvm)
        {
            var capabilities = UsedCapabilities
                .Select(c => new CapabilityStatus(c.Capability, kvm.CheckExtension(c.Capability), c.Required, c.UsedFor))
                .ToList();
            CpuidMaskReport? masking;
            try
            {
                masking = CpuidMaskProbe.Run(kvm);
            }
            catch (KvmException)
            {
                masking = null;
            }
            return new KvmHostReport(devicePath, true, null, kvm.GetApiVersion(), flavour, vmx, svm, capabilities) { CpuidMasking = masking };
        }
    }

    /// <summary>Which KVM module is loaded: kvm_pvm wins, since it can sit beside kvm_intel/kvm_amd.</summary>
    public static KvmFlavour DetectFlavour(string sysModuleDirectory)
    {
        bool Loaded(string module) => Directory.Exists(Path.Combine(sysModuleDirectory, module));
        if (Loaded("kvm_pvm"))
            return KvmFlavour.SoftwarePvm;
        if (Loaded("kvm_intel"))
            return KvmFlavour.HardwareIntel;
        if (Loaded("kvm_amd"))
            return KvmFlavour.HardwareAmd;
        return Loaded("kvm") ? KvmFlavour.Unknown : KvmFlavour.Absent;
    }

    private static (bool Vmx, bool Svm) ReadCpuVirtualizationFlags(string cpuinfoPath)
    {
        try
        {
            foreach (string line in File.ReadLines(cpuinfoPath))
            {
                if (!line.StartsWith("flags", StringComparison.Ordinal))
                    continue;
                var flags = line[(line.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return (flags.Contains("vmx"), flags.Contains("svm"));
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return (false, false);
    }

    public bool IsSoftware => Flavour == KvmFlavour.SoftwarePvm;

    public IEnumerable<CapabilityStatus> MissingRequired => Capabilities.Where(c => c.Required && !c.Present);

    /// <summary>The human-readable report `ember doctor` prints.</summary>
    public string Render()
    {
        var lines = new List<string> { $"KVM device:   {DevicePath} {(DeviceUsable ? "usable" : $"NOT usable ({OpenError})")}" };
        if (!DeviceUsable)
        {
            lines.Add("Ember needs read-write access to /dev/kvm (are you root or in the kvm group? is KVM enabled?).");
            return string.Join('\n', lines);
        }
        lines.Add($"API version:  {ApiVersion}{(ApiVersion == KvmSystem.StableApiVersion ? " (stable)" : " (UNEXPECTED)")}");
        lines.Add($"CPU:          vmx={(CpuHasVmx ? "yes" : "no")} svm={(CpuHasSvm ? "yes" : "no")}");
        lines.Add("Backend:      " + Flavour switch
        {
            KvmFlavour.HardwareIntel => "hardware KVM (Intel VT-x, kvm_intel)",
            KvmFlavour.HardwareAmd => "hardware KVM (AMD-V, kvm_amd)",
            KvmFlavour.SoftwarePvm => "SOFTWARE KVM (kvm_pvm, no VMX/SVM)",
            _ => "unknown KVM module",
        });
        if (IsSoftware)
        {
            lines.Add("  kvm_pvm runs guest user mode natively but emulates guest kernel, real- and protected-mode");
            lines.Add("  code in KVM's instruction emulator (~2 million instructions/s). Some instructions are");
            lines.Add("  missing there (lock cmpxchg16b, xsave/xrstor, int3), so a stock Linux kernel boots only");
            lines.Add("  part-way (use --cpuid-mask cx16,xsave and 'noxsave'); small assembled guests run fine.");
        }
        lines.Add("CPUID masking: " + (CpuidMasking?.Render() ?? "could not be probed"));
        lines.Add("Capabilities:");
        foreach (var c in Capabilities)
            lines.Add($"  {(c.Present ? "present" : "MISSING"),-8} {c.Capability,-22} {(c.Present && c.Value != 1 ? $"({c.Value}) " : "")}{c.UsedFor}{(c.Required ? "" : " [optional]")}");
        var missing = MissingRequired.ToList();
        lines.Add(missing.Count == 0
            ? "Verdict:      Ember can run here."
            : $"Verdict:      Ember cannot run here: missing {string.Join(", ", missing.Select(m => m.Capability))}.");
        return string.Join('\n', lines);
    }
}
