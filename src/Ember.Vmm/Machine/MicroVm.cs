using System.Diagnostics;
using Ember.Devices.Bus;
using Ember.Devices.Legacy;
using Ember.Kvm;
using Ember.Memory;
using Ember.Vmm.Acpi;
using Ember.Vmm.Boot;
using Ember.Vmm.Cpu;
using Ember.Vmm.Debugging;
using Ember.Vmm.Devices;
using Ember.Vmm.Diagnostics;
using Ember.Vmm.Virtio;
using Ember.Vmm.Interrupts;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Ember.Sys;

namespace Ember.Vmm.Machine;

/// <summary>
/// One Ember microVM: guest RAM, the KVM VM and its vCPUs, the buses with the platform devices,
/// the interrupt controller for the chosen mode, and a booted kernel. <see cref="Run"/> starts one
/// thread per vCPU and returns how the machine ended. This is the embeddable entry point:
/// <code>
/// using var vm = MicroVm.Create(config, consoleOutput);
/// MachineExit exit = vm.Run();
/// </code>
/// </summary>
public sealed class MicroVm : IDisposable, IAsyncDisposable, IMachineLifecycle
{
    /// <summary>A halted vCPU re-checks its wake-up condition at least this often, whatever wakes it.</summary>
    private static readonly TimeSpan HaltRecheckInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>How long <see cref="InjectNmi"/> waits for the vCPU threads to pause and deliver.</summary>
    private static readonly TimeSpan NmiDeliveryTimeout = TimeSpan.FromSeconds(2);

    /// <summary>How long <see cref="Pause"/> waits for every vCPU to leave KVM_RUN and the device threads to go idle.</summary>
    private static readonly TimeSpan PauseTimeout = TimeSpan.FromSeconds(10);

    private readonly KvmSystem _kvm;
    private readonly VirtualMachine _vm;
    private readonly MmapGuestMemory _memory;
    private readonly IInterruptController _interrupts;
    private readonly EventLoop _timers = new();
    private readonly PlatformDevices _devices;
    private readonly List<VirtualCpu> _vcpus = [];
    private readonly List<VcpuRunner> _runners = [];
    private readonly List<VcpuMemoryView> _vcpuMemory = [];
    private readonly List<EventFd> _ioEvents = [];
    private readonly ILogger _logger;
    private readonly Diagnostics.GuestTriggeredLogs _guestLogs;
    private readonly ManualResetEventSlim _stopped = new();
    private readonly object _haltLock = new();
    private readonly List<Thread> _vcpuThreads = [];
    private readonly TaskCompletionSource<MachineExit> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Debugging.GdbServer? _gdb;
    private VcpuPauseGate _pauseGate = null!;
    private VmLifecycle _lifecycle = null!;
    private MachineExit? _exit;
    private int _stopRequested;
    private int _vcpuThreadsRunning;
    private int _disposed;
    private bool _started;

    private MicroVm(MachineConfig config, ISerialOutput console, ILoggerFactory loggerFactory, long startTimestamp)
    {
        Config = config;
        if (config.CoverEmulatorGaps ?? Host.KvmHostReport.DetectFlavour("/sys/module") == Host.KvmFlavour.SoftwarePvm)
            EmulatorGaps = new EmulatorGapCover();
        _logger = loggerFactory.CreateLogger("Ember.Vmm");
        _guestLogs = new Diagnostics.GuestTriggeredLogs(_logger);
        _kvm = KvmSystem.Open();
        try
        {
            _vm = _kvm.CreateVirtualMachine();
            _memory = new MmapGuestMemory(Layout.RamRegions(config.MemorySize));
            uint slot = 0;
            foreach (var region in _memory.MappedRegions)
                _vm.SetUserMemoryRegion(slot++, region.Start.Value, region.Size, region.HostAddress);
            SetIntelOnlyAddresses();

            // One thread serves every host timer of the machine (PIT, PIC kicks, IOAPIC storm retries) through timerfds.
            _timers.Start(ThreadRole.Timers);
            _interrupts = InterruptControllerFactory.Create(config.Irqchip, _vm, this, _timers);
            _interrupts.CreateBeforeVcpus();

            Pio = new DeviceBus();
            Mmio = new DeviceBus();
            _interrupts.RegisterDevices(Pio, Mmio);
            _devices = new PlatformDevices(config, _interrupts, console, Pio, Mmio, startTimestamp);
            Pci = new PciTopology(Pio, Mmio, _interrupts.IsaLine);
            Virtio = new VirtioPciDevices(config, _vm, _memory, _interrupts, Pci, _logger, _guestLogs);
            Metrics = new MachineMetrics(config.Name, () => [.. _runners.Select(r => r.Exits)], Virtio);
            WireDeviceEvents();
            if (config.TestDevices)
                RegisterInKernelSinks();

            CreateVcpus();
            _lifecycle = new VmLifecycle(_pauseGate, KickAndWakeAll, [Virtio.IoLoop]);
            if (config.GdbEndpoint is { } gdbEndpoint)
                _gdb = ListenForGdb(gdbEndpoint);
            Boot();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>
    /// Builds a machine and loads its kernel. Throws <see cref="MachineConfigurationException"/> for bad
    /// configuration, <see cref="BootImageException"/> for an unbootable image, and <see cref="KvmException"/>
    /// when KVM refuses something.
    /// </summary>
    public static MicroVm Create(MachineConfig config, ISerialOutput console, ILoggerFactory? loggerFactory = null, long? startTimestamp = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(console);
        if (config.Validate() is { } problem)
            throw new MachineConfigurationException(problem);
        return new MicroVm(config, console, loggerFactory ?? NullLoggerFactory.Instance, startTimestamp ?? Stopwatch.GetTimestamp());
    }

    /// <summary>
    /// Builds and starts a machine off the caller's thread, with its console as a <see cref="GuestConsoleStream"/>
    /// (<see cref="Console"/>): <c>await using var vm = await MicroVm.StartAsync(config);</c>
    /// </summary>
    public static Task<MicroVm> StartAsync(MachineConfig config, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        long start = Stopwatch.GetTimestamp();
        return Task.Run(() =>
        {
            var console = new GuestConsoleStream();
            var vm = Create(config, console, loggerFactory, start);
            try
            {
                cancellationToken.ThrowIfCancellationRequested();
                vm.Console = console;
                console.Attach(vm);
                vm.Start();
                return vm;
            }
            catch
            {
                vm.Dispose();
                throw;
            }
        }, cancellationToken);
    }

    /// <summary>The guest console as a stream, for a machine started with <see cref="StartAsync"/>; null otherwise.</summary>
    public GuestConsoleStream? Console { get; private set; }

    /// <summary><see cref="Pause"/> off the caller's thread.</summary>
    public Task PauseAsync() => Task.Run(Pause);

    /// <summary><see cref="Resume"/> off the caller's thread.</summary>
    public Task ResumeAsync() => Task.Run(Resume);

    /// <summary><see cref="InjectNmi"/> off the caller's thread.</summary>
    public Task<bool> InjectNmiAsync() => Task.Run(InjectNmi);

    /// <summary><see cref="SendCtrlAltDel"/> off the caller's thread.</summary>
    public Task<bool> SendCtrlAltDelAsync() => Task.Run(SendCtrlAltDel);

    /// <summary>Stops the machine if it runs, then releases its threads, fds and memory, off the caller's thread.</summary>
    public ValueTask DisposeAsync() => new(Task.Run(Dispose));

    public MachineConfig Config { get; }

    public IGuestMemory Memory => _memory;

    public DeviceBus Pio { get; }

    public DeviceBus Mmio { get; }

    public IReadOnlyList<VirtualCpu> Vcpus => _vcpus;

    /// <summary>Each vCPU's view of guest memory through its page tables (index = vCPU id): <c>vm.VcpuMemory[0].ReadVirtual(address, buffer)</c>.</summary>
    public IReadOnlyList<VcpuMemoryView> VcpuMemory => _vcpuMemory;

    public IInterruptController Interrupts => _interrupts;

    /// <summary>PCI bus 0: the host bridge and whatever devices the machine was given.</summary>
    public PciTopology Pci { get; }

    /// <summary>The virtio-pci devices (disks, entropy) and their I/O thread.</summary>
    public VirtioPciDevices Virtio { get; }

    /// <summary>The machine's counters: exits, vCPU time, disks, interrupts (a Meter, and JSON for metrics lines).</summary>
    public MachineMetrics Metrics { get; }

    /// <summary>Raised (on a vCPU thread) when the guest writes the boot-timer magic; the time since process start.</summary>
    public event Action<TimeSpan>? BootTimeReported;

    public bool StopRequested => Volatile.Read(ref _stopRequested) != 0;

    /// <summary>NotStarted, Running, Paused or Stopped.</summary>
    public VmState State => _lifecycle.State;

    /// <summary>Completes with how the machine ended, once every vCPU thread has finished.</summary>
    public Task<MachineExit> Exited => _exited.Task;

    /// <summary>
    /// What Ember finished for a software KVM's emulator (int3, ud2, clac/stac, popcnt), or null where that is off
    /// (<see cref="MachineConfig.CoverEmulatorGaps"/>).
    /// </summary>
    public EmulatorGapCover? EmulatorGaps { get; }

    /// <summary>Where the GDB stub listens (the real port when port 0 was asked for); null without <see cref="MachineConfig.GdbEndpoint"/>.</summary>
    public Debugging.GdbEndpoint? GdbEndpoint => _gdb?.Endpoint;

    /// <summary>Guest accesses that no device claimed, over all vCPUs.</summary>
    public long UnclaimedAccesses => _runners.Sum(r => r.UnclaimedAccesses);

    /// <summary>Port I/O exits to user space over all vCPUs (exact after <see cref="Run"/> returns).</summary>
    public long PioExits => _runners.Sum(r => r.PioExits);

    /// <summary>MMIO exits to user space over all vCPUs (exact after <see cref="Run"/> returns).</summary>
    public long MmioExits => _runners.Sum(r => r.MmioExits);

    /// <summary>Managed bytes the vCPU threads allocated while running (valid after <see cref="Run"/>).</summary>
    public long VcpuThreadAllocatedBytes => _runners.Sum(r => r.AllocatedBytes);

    /// <summary>Feeds bytes to the guest's COM1 (bounded: excess is dropped by the UART).</summary>
    public int SendConsoleInput(ReadOnlySpan<byte> bytes)
    {
        int accepted = _devices.Serial.EnqueueInput(bytes);
        return accepted;
    }

    private void SetIntelOnlyAddresses()
    {
        // Intel VMX needs three pages for a real-mode TSS and one for the EPT identity map, just
        // below the IOAPIC; other KVM flavours accept or ignore them.
        try
        {
            _vm.SetIdentityMapAddress(Layout.IdentityMapPage);
            _vm.SetTssAddress(Layout.RealModeTss);
        }
        catch (KvmException e)
        {
            _logger.LogDebug("KVM refused the Intel TSS/identity-map addresses: {Error}", e.Message);
        }
    }

    private void WireDeviceEvents()
    {
        _devices.PowerManagement.PowerOffRequested += () => Stop(new MachineExit(MachineStopReason.PowerOff, "guest powered off (ACPI S5)"));
        _devices.Keyboard.ResetRequested += () => Stop(new MachineExit(MachineStopReason.Reset, "guest reset through the i8042"));
        if (_devices.DebugExit is { } debugExit)
            debugExit.ExitRequested += value => Stop(new MachineExit(MachineStopReason.DebugExit, $"guest wrote 0x{value:x2} to the debug-exit port", value));
        if (_devices.BootTimer is { } bootTimer)
        {
            bootTimer.BootTimeReported += elapsed =>
            {
                _logger.LogInformation("Guest-boot-time = {Microseconds} us", (long)elapsed.TotalMicroseconds);
                BootTimeReported?.Invoke(elapsed);
            };
        }
    }

    /// <summary>
    /// Test-device ports whose writes mean nothing to Ember are absorbed by KVM through an ioeventfd, so the
    /// guest never exits for them: pc-testdev's 0xE4 "flush page" port (4-byte writes; other widths still
    /// reach the device on the bus). Nobody reads these eventfds; their counters just accumulate.
    /// </summary>
    private void RegisterInKernelSinks()
    {
        var sink = new EventFd();
        _ioEvents.Add(sink);
        _vm.RegisterIoEvent(sink, IoEventRegistration.Pio(Layout.TestDeviceFlushPagePort, 4));
    }

    private void CreateVcpus()
    {
        var supported = _kvm.GetSupportedCpuid();
        // Without an in-kernel irqchip there is no local APIC at all: say so in CPUID, so the guest
        // falls back to the 8259A instead of poking a LAPIC page that nothing answers.
        var maskNames = Config.Irqchip == IrqchipMode.Userspace
            ? Config.CpuidMask.Concat(["apic", "x2apic", "tsc_deadline_timer"]).Distinct()
            : Config.CpuidMask;
        var masked = maskNames.Select(name => CpuidFeature.TryFind(name, out var f)
            ? f
            : throw new MachineConfigurationException($"unknown CPUID feature '{name}' in --cpuid-mask")).ToList();
        _pauseGate = new VcpuPauseGate(Config.VcpuCount);
        bool hasSregs2 = _kvm.HasCapability(KvmCapability.Sregs2);
        for (uint id = 0; id < Config.VcpuCount; id++)
        {
            var vcpu = _vm.CreateVcpu(id);
            _vcpus.Add(vcpu);
            VcpuInitializer.ConfigureCpuid(vcpu, GuestCpuid.Build(supported, id, Config.VcpuCount, masked));
            VcpuInitializer.ConfigureMsrs(vcpu);
            VcpuInitializer.ConfigureFpu(vcpu);
            _interrupts.ConfigureVcpu(vcpu);
            _runners.Add(new VcpuRunner(vcpu, Pio, Mmio, _interrupts, _memory, this, _logger, _pauseGate, EmulatorGaps, _guestLogs));
            _vcpuMemory.Add(new VcpuMemoryView(_runners[^1], _memory, () => State, WakeHalted, hasSregs2));
        }
        VirtualCpu.PrepareKickSignal();
    }

    /// <summary>The GDB stub binds now (a taken port fails the creation); it serves from <see cref="Start"/> on.</summary>
    private Debugging.GdbServer ListenForGdb(Debugging.GdbEndpoint endpoint)
    {
        uint debugFlags = (uint)Math.Max(0, _vm.CheckExtension(KvmCapability.SetGuestDebug2));
        bool dataBreakpoints = Host.KvmHostReport.DetectFlavour("/sys/module") != Host.KvmFlavour.SoftwarePvm;
        var target = new Debugging.MachineDebugTarget(_runners, _pauseGate, _vcpuMemory,
            KickAndWakeAll, Stop, _exited.Task, dataBreakpoints, debugFlags, _logger);
        return Debugging.GdbServer.Listen(endpoint, target, _logger);
    }

    private void Boot()
    {
        byte[] kernel = File.ReadAllBytes(Config.KernelPath);
        byte[] initrd = Config.InitrdPath is null ? [] : File.ReadAllBytes(Config.InitrdPath);
        var acpi = AcpiTableBuilder.Build(new AcpiPlatform(Config.VcpuCount) { HasApic = Config.Irqchip != IrqchipMode.Userspace, PciInterruptRoutes = Pci.InterruptRoutes });
        var rsdp = acpi.WriteTo(_memory);
        var format = BootImageFormatDetector.Detect(kernel);
        if (format == BootImageFormat.LinuxBzImage && Config.DecompressBzImage
            && KernelPayload.TryExtractVmlinux(kernel) is { } vmlinux
            && BootImageFormatDetector.Detect(vmlinux) == BootImageFormat.Pvh)
        {
            _logger.LogDebug("booting the bzImage's embedded vmlinux ({Size} bytes) through its PVH entry", vmlinux.Length);
            kernel = vmlinux;
            format = BootImageFormat.Pvh;
        }
        var loader = BootImageFormatDetector.CreateLoader(format);
        var entry = loader.Load(_memory, new BootRequest(kernel, Config.CommandLine) { Initrd = initrd, AcpiRsdp = rsdp });
        VcpuInitializer.ApplyBootEntry(_vcpus[0], entry);
        _logger.LogDebug("booting {Format} image at 0x{Entry:x} in {Mode}", loader.Format, entry.EntryPoint, entry.Mode);
    }

    /// <summary>Runs the vCPUs until the guest powers off, resets, or something stops the machine.</summary>
    public MachineExit Run()
    {
        Start();
        return WaitForExit();
    }

    /// <summary>
    /// Starts one thread per vCPU and returns at once (NotStarted → Running); <see cref="Exited"/> or
    /// <see cref="WaitForExit"/> tell when and how the machine ended. Throws <see cref="VmStateException"/> if it was started before.
    /// </summary>
    public void Start()
    {
        _lifecycle.Start(() =>
        {
            _started = true;
            _interrupts.Start();
            _gdb?.Start(waitForDebugger: Config.GdbWait);
            _vcpuThreadsRunning = _runners.Count;
            foreach (var runner in _runners)
            {
                _vcpuThreads.Add(VmmThreads.Start(ThreadRole.Vcpu, runner.Vcpu.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), () =>
                {
                    try
                    {
                        runner.Run();
                    }
                    finally
                    {
                        if (Interlocked.Decrement(ref _vcpuThreadsRunning) == 0)
                            _exited.TrySetResult(Volatile.Read(ref _exit) ?? new MachineExit(MachineStopReason.InternalError, "every vCPU thread ended without a stop"));
                    }
                }, maxStackSize: 256 * 1024));
            }
        });
    }

    /// <summary>Blocks until the machine has stopped and every vCPU thread has ended; returns how it ended.</summary>
    public MachineExit WaitForExit()
    {
        if (!_started)
            throw new VmStateException(VmState.NotStarted, "the machine has not been started");
        _stopped.Wait();
        KickAll();
        foreach (var thread in _vcpuThreads)
        {
            while (!thread.Join(TimeSpan.FromMilliseconds(50)))
                KickAll();
        }
        return _exit!;
    }

    /// <summary>
    /// Pauses a running machine (Running → Paused): returns once every vCPU is out of KVM_RUN and parked and the
    /// device I/O threads are idle. Throws <see cref="VmStateException"/> in any other state and
    /// <see cref="TimeoutException"/> (the machine keeps running) if a vCPU does not leave KVM_RUN in time.
    /// </summary>
    public void Pause() => _lifecycle.Pause(PauseTimeout);

    /// <summary>Resumes a paused machine (Paused → Running) exactly where it stopped.</summary>
    public void Resume() => _lifecycle.Resume();

    private void KickAndWakeAll()
    {
        KickAll();
        WakeHalted();
    }

    /// <summary>Asks the machine to stop from the host side (Ctrl-A X, API, embedding program).</summary>
    public void RequestStop(string why = "stopped by the host") => Stop(new MachineExit(MachineStopReason.HostRequest, why));

    public void Stop(MachineExit exit)
    {
        if (Interlocked.CompareExchange(ref _exit, exit, null) is not null)
            return;
        Volatile.Write(ref _stopRequested, 1);
        _lifecycle?.MarkStopped();
        _stopped.Set();
        KickAll();
        lock (_haltLock)
            Monitor.PulseAll(_haltLock);
    }

    private void KickAll()
    {
        foreach (var vcpu in _vcpus)
            vcpu.Kick();
    }

    void IMachineLifecycle.WaitForInterrupt(VirtualCpu vcpu)
    {
        var runner = _runners[(int)vcpu.Id];
        if (!_interrupts.InjectsFromUserSpace)
        {
            lock (_haltLock)
            {
                if (!StopRequested)
                    Monitor.Wait(_haltLock, TimeSpan.FromMilliseconds(10));
            }
            return;
        }
        while (true)
        {
            lock (_haltLock)
            {
                // No in-kernel LAPIC: KVM has already stepped past the HLT, so staying out of KVM_RUN is the halt.
                // The CPU resumes on an enabled interrupt (IF set) or an NMI (Intel SDM vol. 2A, HLT); an NMI
                // arrives here as paused work. The PIC's rising INT and InjectNmi pulse this monitor while
                // holding it, after changing what the condition reads, so no wake-up falls between check and wait.
                while (!StopRequested && !runner.HasPendingWork && !_pauseGate.IsClosedFor((int)vcpu.Id)
                       && !(vcpu.InterruptFlag && _interrupts.HasPendingInterrupt(vcpu)))
                    Monitor.Wait(_haltLock, HaltRecheckInterval);
            }
            if (StopRequested || !_pauseGate.IsClosedFor((int)vcpu.Id))
                return;
            // Paused while halted: park here and go on halting after the resume, as the guest expects.
            runner.ParkWhilePaused();
        }
    }

    /// <summary>
    /// Sends an NMI to the running guest, as the NMI button of a PC would (its wire reaches LINT1 of every
    /// processor; the MADT says so with a Local APIC NMI structure for all processors). Each vCPU is paused
    /// between exits and, with an in-kernel LAPIC, gets KVM_NMI only if its LVT LINT1 is unmasked with NMI
    /// delivery (api.rst, KVM_NMI); without one (user-space irqchip) it gets KVM_NMI directly.
    /// Returns whether any vCPU took it. Blocks up to a couple of seconds; never call it from a vCPU thread.
    /// </summary>
    public bool InjectNmi()
    {
        if (!_started || StopRequested)
            return false;
        var deliveries = _runners.Select(runner => runner.RunPaused(_interrupts.DeliverLint1Nmi)).ToList();
        WakeHalted();
        bool delivered = false;
        foreach (var delivery in deliveries)
        {
            try
            {
                if (delivery.Wait(NmiDeliveryTimeout) && delivery.Result)
                    delivered = true;
            }
            catch (AggregateException e)
            {
                _logger.LogWarning("NMI not delivered to a vCPU: {Error}", e.InnerException?.Message ?? e.Message);
            }
        }
        _logger.LogDebug("NMI {Outcome}", delivered ? "delivered" : "not delivered (LINT1 masked or not in NMI mode)");
        return delivered;
    }

    /// <summary>
    /// Presses Ctrl+Alt+Del on the i8042 keyboard (Firecracker's SendCtrlAltDel): a Linux guest reboots, which
    /// ends the machine. False when the guest has not read the keys of an earlier press yet.
    /// </summary>
    public bool SendCtrlAltDel()
    {
        if (State != VmState.Running)
            throw new VmStateException(State, "Ctrl+Alt+Del needs a running machine");
        bool queued = _devices.Keyboard.PressCtrlAltDel();
        WakeHalted();
        return queued;
    }

    /// <summary>Wakes vCPUs halted in user space (called by the user-space PIC when its output rises).</summary>
    internal void WakeHalted()
    {
        lock (_haltLock)
            Monitor.PulseAll(_haltLock);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        if (_started && !StopRequested)
            RequestStop("disposed");
        // Started with Start(): the vCPU threads must be gone before their vCPUs and guest memory are.
        if (_started)
            WaitForExit();
        // The GDB stub runs work on vCPU threads; it goes once they have ended, before the vCPUs do.
        _gdb?.Dispose();
        // The timer loop first, then the interrupt controller: timers kick vCPUs and must stop before their run pages go.
        _timers.Dispose();
        Metrics?.Dispose();
        Virtio?.Dispose();
        // What the rate limits held back of the guest's lines, now that the vCPUs and device I/O have stopped.
        _guestLogs?.Flush();
        _interrupts?.Dispose();
        foreach (var vcpu in _vcpus)
            vcpu.Dispose();
        _vm?.Dispose();
        foreach (var ioEvent in _ioEvents)
            ioEvent.Dispose();
        _kvm.Dispose();
        _memory?.Dispose();
        _stopped.Dispose();
        Console?.Complete();
    }
}
