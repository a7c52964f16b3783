using System.Diagnostics;
using Ember.Devices.Bus;
using Ember.Devices.Legacy;
using Ember.Kvm;
using Ember.Memory;
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
/// One Ember microVM: guest RAM, the KVM VM and its vCPUs, the device manager with the platform and PCI
/// devices, the interrupt controller for the chosen mode, and a booted kernel, all made by
/// <see cref="MachineBuilder"/>; this class runs the lifecycle (start, pause, resume, stop, halts, NMIs).
/// <see cref="Run"/> starts one thread per vCPU and returns how the machine ended. This is the embeddable entry point:
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

    private readonly MachineParts _parts;
    private readonly ILogger _logger;
    private readonly ManualResetEventSlim _stopped = new();
    private readonly object _haltLock = new();
    private readonly List<Thread> _vcpuThreads = [];
    private readonly TaskCompletionSource<MachineExit> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly VmLifecycle _lifecycle;
    private MachineExit? _exit;
    private int _stopRequested;
    private int _vcpuThreadsRunning;
    private int _disposed;
    private bool _started;

    private MicroVm(MachineConfig config, ISerialOutput console, ILoggerFactory loggerFactory, long startTimestamp)
    {
        Config = config;
        _logger = loggerFactory.CreateLogger("Ember.Vmm");
        _parts = new MachineBuilder(config, console, _logger, startTimestamp).Build(this);
        _lifecycle = new VmLifecycle(_parts.PauseGate, KickAndWakeAll, [_parts.Virtio.IoLoop]);
        WireDeviceEvents();
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

    public IGuestMemory Memory => _parts.Memory;

    public DeviceBus Pio => _parts.Devices.Pio;

    public DeviceBus Mmio => _parts.Devices.Mmio;

    public IReadOnlyList<VirtualCpu> Vcpus => _parts.Vcpus;

    /// <summary>Each vCPU's view of guest memory through its page tables (index = vCPU id): <c>vm.VcpuMemory[0].ReadVirtual(address, buffer)</c>.</summary>
    public IReadOnlyList<VcpuMemoryView> VcpuMemory => _parts.VcpuMemory;

    public IInterruptController Interrupts => _parts.Interrupts;

    /// <summary>The devices by id, the buses and the resource allocators; the DSDT was built from its <see cref="DeviceManager.AmlDevices"/>.</summary>
    public DeviceManager Devices => _parts.Devices;

    /// <summary>PCI bus 0: the host bridge and whatever devices the machine was given.</summary>
    public PciTopology Pci => _parts.Devices.Pci;

    /// <summary>The virtio-pci devices (disks, entropy) and their I/O thread.</summary>
    public VirtioPciDevices Virtio => _parts.Virtio;

    /// <summary>The machine's counters: exits, vCPU time, disks, interrupts (a Meter, and JSON for metrics lines).</summary>
    public MachineMetrics Metrics => _parts.Metrics;

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
    public EmulatorGapCover? EmulatorGaps => _parts.EmulatorGaps;

    /// <summary>Where the GDB stub listens (the real port when port 0 was asked for); null without <see cref="MachineConfig.GdbEndpoint"/>.</summary>
    public Debugging.GdbEndpoint? GdbEndpoint => _parts.Gdb?.Endpoint;

    /// <summary>Guest accesses that no device claimed, over all vCPUs.</summary>
    public long UnclaimedAccesses => _parts.Runners.Sum(r => r.UnclaimedAccesses);

    /// <summary>Port I/O exits to user space over all vCPUs (exact after <see cref="Run"/> returns).</summary>
    public long PioExits => _parts.Runners.Sum(r => r.PioExits);

    /// <summary>MMIO exits to user space over all vCPUs (exact after <see cref="Run"/> returns).</summary>
    public long MmioExits => _parts.Runners.Sum(r => r.MmioExits);

    /// <summary>Managed bytes the vCPU threads allocated while running (valid after <see cref="Run"/>).</summary>
    public long VcpuThreadAllocatedBytes => _parts.Runners.Sum(r => r.AllocatedBytes);

    /// <summary>Feeds bytes to the guest's COM1 (bounded: excess is dropped by the UART).</summary>
    public int SendConsoleInput(ReadOnlySpan<byte> bytes)
    {
        int accepted = _parts.Platform.Serial.EnqueueInput(bytes);
        return accepted;
    }

    private void WireDeviceEvents()
    {
        _parts.Platform.PowerManagement.PowerOffRequested += () => Stop(new MachineExit(MachineStopReason.PowerOff, "guest powered off (ACPI S5)"));
        _parts.Platform.Keyboard.ResetRequested += () => Stop(new MachineExit(MachineStopReason.Reset, "guest reset through the i8042"));
        if (_parts.Platform.DebugExit is { } debugExit)
            debugExit.ExitRequested += value => Stop(new MachineExit(MachineStopReason.DebugExit, $"guest wrote 0x{value:x2} to the debug-exit port", value));
        if (_parts.Platform.BootTimer is { } bootTimer)
        {
            bootTimer.BootTimeReported += elapsed =>
            {
                _logger.LogInformation("Guest-boot-time = {Microseconds} us", (long)elapsed.TotalMicroseconds);
                BootTimeReported?.Invoke(elapsed);
            };
        }
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
            _parts.Interrupts.Start();
            _parts.Gdb?.Start(waitForDebugger: Config.GdbWait);
            _vcpuThreadsRunning = _parts.Runners.Count;
            foreach (var runner in _parts.Runners)
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

    internal void KickAndWakeAll()
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
        foreach (var vcpu in _parts.Vcpus)
            vcpu.Kick();
    }

    void IMachineLifecycle.WaitForInterrupt(VirtualCpu vcpu)
    {
        var runner = _parts.Runners[(int)vcpu.Id];
        if (!_parts.Interrupts.InjectsFromUserSpace)
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
                while (!StopRequested && !runner.HasPendingWork && !_parts.PauseGate.IsClosedFor((int)vcpu.Id)
                       && !(vcpu.InterruptFlag && _parts.Interrupts.HasPendingInterrupt(vcpu)))
                    Monitor.Wait(_haltLock, HaltRecheckInterval);
            }
            if (StopRequested || !_parts.PauseGate.IsClosedFor((int)vcpu.Id))
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
        var deliveries = _parts.Runners.Select(runner => runner.RunPaused(_parts.Interrupts.DeliverLint1Nmi)).ToList();
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
        bool queued = _parts.Platform.Keyboard.PressCtrlAltDel();
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
        _parts.Dispose();
        _stopped.Dispose();
        Console?.Complete();
    }
}
