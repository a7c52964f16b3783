using Ember.Devices.Legacy;
using Ember.Kvm;
using Ember.Memory;
using Ember.Vmm.Acpi;
using Ember.Vmm.Boot;
using Ember.Vmm.Cpu;
using Ember.Vmm.Debugging;
using Ember.Vmm.Devices;
using Ember.Vmm.Diagnostics;
using Ember.Vmm.Interrupts;
using Ember.Vmm.Virtio;
using Ember.Sys;
using Microsoft.Extensions.Logging;

namespace Ember.Vmm.Machine;

/// <summary>
/// Turns a validated <see cref="MachineConfig"/> into a machine, in the order the parts depend on each other:
/// the KVM VM and guest RAM, the interrupt controller, the device manager with the platform devices, PCI bus 0
/// and the virtio functions, the vCPUs, the GDB stub, and last the ACPI tables (from the devices that exist)
/// and the kernel. <see cref="MicroVm"/> gets the parts and runs the lifecycle; on any failure the builder
/// disposes what it made, so no half-built VM survives.
/// </summary>
internal sealed class MachineBuilder(MachineConfig config, ISerialOutput console, ILogger logger, long startTimestamp)
{
    /// <summary>Builds every part for <paramref name="machine"/>, whose lifecycle the vCPUs, the interrupt controller and the GDB stub call back into.</summary>
    public MachineParts Build(MicroVm machine)
    {
        var parts = new MachineParts();
        try
        {
            if (config.CoverEmulatorGaps ?? Host.KvmHostReport.DetectFlavour("/sys/module") == Host.KvmFlavour.SoftwarePvm)
                parts.EmulatorGaps = new EmulatorGapCover();
            parts.GuestLogs = new GuestTriggeredLogs(logger);
            parts.Kvm = KvmSystem.Open();
            CreateVmAndMemory(parts);
            parts.Timers.Start(ThreadRole.Timers);
            parts.Interrupts = InterruptControllerFactory.Create(config.Irqchip, parts.Vm, machine, parts.Timers);
            parts.Interrupts.CreateBeforeVcpus();
            AddDevices(parts);
            parts.Metrics = new MachineMetrics(config.Name, () => [.. parts.Runners.Select(r => r.Exits)], parts.Virtio, parts.SerialLimiter);
            if (config.TestDevices)
                RegisterInKernelSinks(parts);
            CreateVcpus(parts, machine);
            if (config.GdbEndpoint is { } gdbEndpoint)
                parts.Gdb = ListenForGdb(parts, machine, gdbEndpoint);
            Boot(parts);
            return parts;
        }
        catch
        {
            parts.Dispose();
            throw;
        }
    }

    private void CreateVmAndMemory(MachineParts parts)
    {
        parts.Vm = parts.Kvm.CreateVirtualMachine();
        parts.Memory = new MmapGuestMemory(Layout.RamRegions(config.MemorySize));
        uint slot = 0;
        foreach (var region in parts.Memory.MappedRegions)
            parts.Vm.SetUserMemoryRegion(slot++, region.Start.Value, region.Size, region.HostAddress);
        // Intel VMX needs three pages for a real-mode TSS and one for the EPT identity map, just
        // below the IOAPIC; other KVM flavours accept or ignore them.
        try
        {
            parts.Vm.SetIdentityMapAddress(Layout.IdentityMapPage);
            parts.Vm.SetTssAddress(Layout.RealModeTss);
        }
        catch (KvmException e)
        {
            logger.LogDebug("KVM refused the Intel TSS/identity-map addresses: {Error}", e.Message);
        }
    }

    /// <summary>The device manager with, in this order, the interrupt controller's registers, the platform devices, PCI bus 0 and the virtio functions.</summary>
    private void AddDevices(MachineParts parts)
    {
        var devices = parts.Devices = new DeviceManager(config.MemorySize);
        parts.Interrupts.RegisterDevices(devices.Pio, devices.Mmio);
        // The limiter sits between the UART and its sink: the UART knows neither files nor budgets.
        var serialOutput = console;
        if (config.SerialRateLimit is { IsUnlimited: false } bandwidth)
            serialOutput = parts.SerialLimiter = new RateLimitedSerialOutput(console, bandwidth);
        parts.Platform = new PlatformDevices(config, parts.Interrupts, serialOutput, devices, startTimestamp);
        devices.AddPciRoot(parts.Interrupts.IsaLine);
        parts.Virtio = new VirtioPciDevices(config, parts.Vm, parts.Memory, parts.Interrupts, devices, logger, parts.GuestLogs);
    }

    /// <summary>
    /// Test-device ports whose writes mean nothing to Ember are absorbed by KVM through an ioeventfd, so the
    /// guest never exits for them: pc-testdev's 0xE4 "flush page" port (4-byte writes; other widths still
    /// reach the device on the bus). Nobody reads these eventfds; their counters just accumulate.
    /// </summary>
    private static void RegisterInKernelSinks(MachineParts parts)
    {
        var sink = new EventFd();
        parts.IoEvents.Add(sink);
        parts.Vm.RegisterIoEvent(sink, IoEventRegistration.Pio(Layout.TestDeviceFlushPagePort, 4));
    }

    private void CreateVcpus(MachineParts parts, MicroVm machine)
    {
        var supported = parts.Kvm.GetSupportedCpuid();
        // Without an in-kernel irqchip there is no local APIC at all: say so in CPUID, so the guest
        // falls back to the 8259A instead of poking a LAPIC page that nothing answers.
        var maskNames = config.Irqchip == IrqchipMode.Userspace
            ? config.CpuidMask.Concat(["apic", "x2apic", "tsc_deadline_timer"]).Distinct()
            : config.CpuidMask;
        var masked = maskNames.Select(name => CpuidFeature.TryFind(name, out var f)
            ? f
            : throw new MachineConfigurationException($"unknown CPUID feature '{name}' in --cpuid-mask")).ToList();
        parts.PauseGate = new VcpuPauseGate(config.VcpuCount);
        bool hasSregs2 = parts.Kvm.HasCapability(KvmCapability.Sregs2);
        var devices = parts.Devices;
        for (uint id = 0; id < config.VcpuCount; id++)
        {
            var vcpu = parts.Vm.CreateVcpu(id);
            parts.Vcpus.Add(vcpu);
            VcpuInitializer.ConfigureCpuid(vcpu, GuestCpuid.Build(supported, id, config.VcpuCount, masked));
            VcpuInitializer.ConfigureMsrs(vcpu);
            VcpuInitializer.ConfigureFpu(vcpu);
            parts.Interrupts.ConfigureVcpu(vcpu);
            parts.Runners.Add(new VcpuRunner(vcpu, devices.Pio, devices.Mmio, parts.Interrupts, parts.Memory, machine, logger,
                parts.PauseGate, parts.EmulatorGaps, parts.GuestLogs));
            parts.VcpuMemory.Add(new VcpuMemoryView(parts.Runners[^1], parts.Memory, () => machine.State, machine.WakeHalted, hasSregs2));
        }
        VirtualCpu.PrepareKickSignal();
    }

    /// <summary>The GDB stub binds now (a taken port fails the creation); it serves from <see cref="MicroVm.Start"/> on.</summary>
    private GdbServer ListenForGdb(MachineParts parts, MicroVm machine, GdbEndpoint endpoint)
    {
        uint debugFlags = (uint)Math.Max(0, parts.Vm.CheckExtension(KvmCapability.SetGuestDebug2));
        bool pvm = Host.KvmHostReport.DetectFlavour("/sys/module") == Host.KvmFlavour.SoftwarePvm;
        bool int3ReachesEmber = Host.BreakpointInterceptProbe.SoftwareBreakpointsUseInt3(parts.Kvm);
        if (!int3ReachesEmber)
            logger.LogDebug("gdb: this KVM does not turn a guest's int3 into a debug exit; software breakpoints use debug registers");
        var target = new MachineDebugTarget(parts.Runners, parts.PauseGate, parts.VcpuMemory,
            machine.KickAndWakeAll, machine.Stop, machine.Exited, dataBreakpointsDelivered: !pvm, int3ReachesEmber, debugFlags, logger);
        return GdbServer.Listen(endpoint, target, logger);
    }

    /// <summary>The ACPI tables describe the devices the manager holds; then the kernel is loaded and vCPU 0 pointed at its entry.</summary>
    private void Boot(MachineParts parts)
    {
        byte[] kernel = File.ReadAllBytes(config.KernelPath);
        byte[] initrd = config.InitrdPath is null ? [] : File.ReadAllBytes(config.InitrdPath);
        var acpi = AcpiTableBuilder.Build(new AcpiPlatform(config.VcpuCount)
        {
            HasApic = config.Irqchip != IrqchipMode.Userspace,
            PciInterruptRoutes = parts.Devices.Pci.InterruptRoutes,
            Devices = parts.Devices.AmlDevices,
        });
        var rsdp = acpi.WriteTo(parts.Memory);
        var format = BootImageFormatDetector.Detect(kernel);
        if (format == BootImageFormat.LinuxBzImage && config.DecompressBzImage
            && KernelPayload.TryExtractVmlinux(kernel) is { } vmlinux
            && BootImageFormatDetector.Detect(vmlinux) == BootImageFormat.Pvh)
        {
            logger.LogDebug("booting the bzImage's embedded vmlinux ({Size} bytes) through its PVH entry", vmlinux.Length);
            kernel = vmlinux;
            format = BootImageFormat.Pvh;
        }
        var loader = BootImageFormatDetector.CreateLoader(format);
        var entry = loader.Load(parts.Memory, new BootRequest(kernel, config.CommandLine) { Initrd = initrd, AcpiRsdp = rsdp });
        VcpuInitializer.ApplyBootEntry(parts.Vcpus[0], entry);
        logger.LogDebug("booting {Format} image at 0x{Entry:x} in {Mode}", loader.Format, entry.EntryPoint, entry.Mode);
    }
}
