using System.Runtime.InteropServices;
using Ember.Kvm;
using Ember.Sys;
using Ember.Vmm.Machine;
using Microsoft.Extensions.Logging;

namespace Ember.Vmm.Debugging;

/// <summary>
/// The machine side of the GDB stub: stops and starts vCPUs through the pause gate's per-vCPU holds, reads and
/// writes their registers on their own threads (vCPU ioctls must come from there), and keeps the breakpoints.
/// Memory, by virtual address, goes through <see cref="GdbTargetMemory"/> over each vCPU's <see cref="VcpuMemoryView"/>
/// (the software page walker, on that vCPU's thread too). Software breakpoints are int3 bytes patched into guest
/// memory through that same path and restored; hardware breakpoints and watchpoints use the four debug registers
/// through KVM_SET_GUEST_DEBUG; single-step is KVM's. A vCPU thread
/// that takes a debug exit holds every vCPU and signals <see cref="StopSignal"/>; the stub thread then reports.
/// <para>
/// Host differences (docs/host-quirks.md): where KVM's emulator runs guest kernel code (kvm_pvm) an int3 is an
/// emulation failure rather than a #BP, so a failure at a planted int3 is taken as the breakpoint; and data
/// breakpoints are not delivered there, so write watchpoints are kept by single-stepping and comparing, and read or
/// access watchpoints are refused. Where an int3 never reaches Ember at all (QEMU's emulated AMD-V), a software
/// breakpoint is an execute breakpoint in a debug register, reported to gdb as the software breakpoint it asked for.
/// </para>
/// </summary>
internal sealed class MachineDebugTarget : IGdbTarget, IVcpuDebugHook, IDisposable
{
    private static readonly TimeSpan VcpuTimeout = TimeSpan.FromSeconds(10);
    private const uint DebugExceptionVector = 1;
    private const uint BreakpointVector = 3;
    private const ulong Dr6SingleStep = 1 << 14;
    private const uint MsrKernelGsBase = 0xC000_0102;  // IA32_KERNEL_GS_BASE (Intel SDM vol. 4, table 2-2)

    private readonly IReadOnlyList<VcpuRunner> _runners;
    private readonly VcpuPauseGate _gate;
    private readonly GdbTargetMemory _memory;
    private readonly Action _kickAll;
    private readonly Action<MachineExit> _stop;
    private readonly Task<MachineExit> _exited;
    private readonly bool _dataBreakpointsDelivered;
    private readonly bool _int3ReachesEmber;
    private readonly uint _blockInterruptsWhileStepping;
    private readonly ILogger _logger;
    private readonly object _lock = new();
    private readonly DebugRegisterSlots _slots = new();
    private readonly bool[] _stepping;
    private volatile EmulatedWatchpoint[] _emulatedWatchpoints = [];
    private volatile bool _emulatingWatchpoints;
    private volatile bool _running;
    private GdbStopEvent? _stopEvent;

    /// <param name="memory">Each vCPU's memory through its page tables (index = vCPU id): what m, M, X and int3 patching go through.</param>
    /// <param name="dataBreakpointsDelivered">False where KVM's emulator runs guest kernel code and skips data breakpoints (kvm_pvm).</param>
    /// <param name="supportedDebugFlags">KVM_CAP_SET_GUEST_DEBUG2: the KVM_GUESTDBG_* flags this KVM takes (0 if it does not say).</param>
    /// <param name="int3ReachesEmber">False where a guest's int3 never becomes a debug exit (<see cref="Host.BreakpointInterceptProbe"/>):
    /// software breakpoints then take a debug-register slot each, as execute breakpoints.</param>
    public MachineDebugTarget(IReadOnlyList<VcpuRunner> runners, VcpuPauseGate gate, IReadOnlyList<IVirtualMemory> memory, Action kickAll,
        Action<MachineExit> stop, Task<MachineExit> exited, bool dataBreakpointsDelivered, bool int3ReachesEmber, uint supportedDebugFlags, ILogger logger)
    {
        _runners = runners;
        _gate = gate;
        _memory = new GdbTargetMemory(memory, logger);
        _kickAll = kickAll;
        _stop = stop;
        _exited = exited;
        _dataBreakpointsDelivered = dataBreakpointsDelivered;
        _int3ReachesEmber = int3ReachesEmber;
        _blockInterruptsWhileStepping = supportedDebugFlags & GuestDebug.BlockInterrupts;
        _logger = logger;
        _stepping = new bool[runners.Count];
        foreach (var runner in runners)
            runner.DebugHook = this;
        exited.ContinueWith(_ => SignalStop(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Signalled when a vCPU stopped the target and when the machine ended: the stub thread then asks what happened.</summary>
    public EventFd StopSignal { get; } = new();

    public int VcpuCount => _runners.Count;

    public int? ExitStatus => _exited.IsCompleted ? _exited.Result.ExitCode : null;

    /// <summary>Holds every vCPU before the machine starts, so none runs an instruction until a debugger says so (--gdb-wait).</summary>
    public void HoldAll()
    {
        for (int i = 0; i < _runners.Count; i++)
            _gate.Hold(i);
    }

    public GdbStopEvent? StopAll()
    {
        GdbStopEvent? pending;
        lock (_lock)
        {
            _running = false;
            pending = _stopEvent;
            _stopEvent = null;
            HoldAll();
        }
        WaitUntilParked();
        return pending;
    }

    public GdbStopEvent? TakeStopEvent()
    {
        GdbStopEvent? stop;
        lock (_lock)
        {
            if (_running || _stopEvent is null)
                return null;
            stop = _stopEvent;
            _stopEvent = null;
        }
        WaitUntilParked();
        return stop;
    }

    private void WaitUntilParked()
    {
        if (!_gate.WaitUntilHeldParked(_kickAll, VcpuTimeout))
            _logger.LogWarning("gdb: a vCPU did not stop within {Seconds} s", VcpuTimeout.TotalSeconds);
    }

    public void Resume(IReadOnlyList<GdbResumeAction> actions)
    {
        GuestDebug common = default;
        EmulatedWatchpoint[] watchpoints;
        lock (_lock)
        {
            _stopEvent = null;
            for (int i = 0; i < _stepping.Length; i++)
                _stepping[i] = actions[i] == GdbResumeAction.Step;
            if (_memory.HasSoftwareBreakpoints)
                common.Control |= GuestDebug.Enable | GuestDebug.UseSoftwareBreakpoints;
            if (!_slots.IsEmpty)
            {
                common.Control |= GuestDebug.Enable | GuestDebug.UseHardwareBreakpoints;
                var registers = common.DebugRegisterValues;
                for (int slot = 0; slot < DebugRegisterSlots.Count; slot++)
                    registers[slot] = _slots.Address(slot);
                registers[7] = _slots.Dr7;
            }
            watchpoints = _emulatedWatchpoints;
            _emulatingWatchpoints = watchpoints.Length > 0;
        }
        // Emulated watchpoints compare against what is there now: GDB inserts them afresh before each resume.
        foreach (var watchpoint in watchpoints)
            watchpoint.Snapshot = ReadBytes(watchpoint.Vcpu, watchpoint.Address, watchpoint.Length);
        for (int i = 0; i < _runners.Count; i++)
        {
            var debug = common;
            if (_stepping[i])
                debug.Control |= GuestDebug.Enable | GuestDebug.SingleStep | _blockInterruptsWhileStepping;
            else if (watchpoints.Length > 0 && actions[i] == GdbResumeAction.Continue)
                debug.Control |= GuestDebug.Enable | GuestDebug.SingleStep;
            if (!RunOn(i, cpu => { cpu.SetGuestDebug(debug); return true; }, false))
                _logger.LogWarning("gdb: KVM_SET_GUEST_DEBUG failed on vCPU {Vcpu}", i);
        }
        lock (_lock)
            _running = true;
        for (int i = 0; i < _runners.Count; i++)
        {
            if (actions[i] != GdbResumeAction.Stay)
                _gate.Release(i);
        }
    }

    public X86RegisterState? ReadRegisters(int vcpu) => RunOn(vcpu, cpu =>
    {
        Span<MsrEntry> kernelGsBase = [new(MsrKernelGsBase, 0)];
        return new X86RegisterState
        {
            General = cpu.GetRegisters(),
            Special = cpu.GetSpecialRegisters(),
            Fpu = cpu.GetFpu(),
            KernelGsBase = cpu.GetMsrs(kernelGsBase) == 1 ? kernelGsBase[0].Data : 0,
        };
    }, null);

    /// <summary>
    /// Sets only the register groups that changed, so a G packet that rewrites everything disturbs no state it did not
    /// mean to. The special registers go first: they are what KVM refuses (KVM_SET_SREGS checks CR0, CR4 and EFER
    /// against each other), and a refusal then leaves the vCPU as it was.
    /// </summary>
    public bool WriteRegisters(int vcpu, X86RegisterState state) => RunOn(vcpu, cpu =>
    {
        var special = cpu.GetSpecialRegisters();
        if (!SameBytes(special, state.Special))
            cpu.SetSpecialRegisters(state.Special);
        Span<MsrEntry> kernelGsBase = [new(MsrKernelGsBase, 0)];
        ulong shown = cpu.GetMsrs(kernelGsBase) == 1 ? kernelGsBase[0].Data : 0;  // as ReadRegisters showed it
        if (state.KernelGsBase != shown)
        {
            kernelGsBase[0].Data = state.KernelGsBase;
            if (cpu.SetMsrs(kernelGsBase) != 1)
                return false;
        }
        var general = cpu.GetRegisters();
        if (!SameBytes(general, state.General))
            cpu.SetRegisters(state.General);
        var fpu = cpu.GetFpu();
        if (!SameBytes(fpu, state.Fpu))
            cpu.SetFpu(state.Fpu);
        return true;
    }, false);

    private static bool SameBytes<T>(T a, T b) where T : unmanaged =>
        MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in a)).SequenceEqual(MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in b)));

    public int ReadMemory(int vcpu, ulong address, Span<byte> destination) => _memory.Read(vcpu, address, destination);

    public bool WriteMemory(int vcpu, ulong address, ReadOnlySpan<byte> source) => _memory.Write(vcpu, address, source);

    public GdbBreakpointResult InsertBreakpoint(int vcpu, GdbBreakpointType type, ulong address, ulong length)
    {
        switch (type)
        {
            case GdbBreakpointType.Software when _int3ReachesEmber:
                return _memory.InsertSoftwareBreakpoint(vcpu, address);
            case GdbBreakpointType.WriteWatchpoint when !_dataBreakpointsDelivered:
                return InsertEmulatedWatchpoint(vcpu, address, length);
            case GdbBreakpointType.ReadWatchpoint or GdbBreakpointType.AccessWatchpoint when !_dataBreakpointsDelivered:
                // Reads cannot be seen by stepping and comparing; only the debug registers could, and they are not delivered here.
                return GdbBreakpointResult.Unsupported;
            default:
                lock (_lock)
                    return _slots.TryInsert(type, address, length) ? GdbBreakpointResult.Done : GdbBreakpointResult.Failed;
        }
    }

    public GdbBreakpointResult RemoveBreakpoint(int vcpu, GdbBreakpointType type, ulong address, ulong length)
    {
        switch (type)
        {
            case GdbBreakpointType.Software when _int3ReachesEmber:
                return _memory.RemoveSoftwareBreakpoint(address);
            case GdbBreakpointType.WriteWatchpoint when !_dataBreakpointsDelivered:
                lock (_lock)
                {
                    var remaining = _emulatedWatchpoints.ToList();
                    int index = remaining.FindIndex(w => w.Address == address && (ulong)w.Length == length);
                    if (index < 0)
                        return GdbBreakpointResult.Failed;
                    remaining.RemoveAt(index);
                    _emulatedWatchpoints = [.. remaining];
                    return GdbBreakpointResult.Done;
                }
            case GdbBreakpointType.ReadWatchpoint or GdbBreakpointType.AccessWatchpoint when !_dataBreakpointsDelivered:
                return GdbBreakpointResult.Unsupported;
            default:
                lock (_lock)
                    return _slots.Remove(type, address, length) ? GdbBreakpointResult.Done : GdbBreakpointResult.Failed;
        }
    }

    private GdbBreakpointResult InsertEmulatedWatchpoint(int vcpu, ulong address, ulong length)
    {
        if (length is 0 or > EmulatedWatchpoint.MaxLength || address + length - 1 < address)
            return GdbBreakpointResult.Failed;
        var watchpoint = new EmulatedWatchpoint(vcpu, address, (int)length);
        watchpoint.Snapshot = ReadBytes(vcpu, address, (int)length);
        if (watchpoint.Snapshot is null)
            return GdbBreakpointResult.Failed;
        lock (_lock)
            _emulatedWatchpoints = [.. _emulatedWatchpoints, watchpoint];
        return GdbBreakpointResult.Done;
    }

    private byte[]? ReadBytes(int vcpu, ulong address, int length)
    {
        var bytes = new byte[length];
        return _memory.TryReadExactly(vcpu, address, bytes) ? bytes : null;
    }

    public void Detach()
    {
        StopAll();
        _memory.RemoveAllSoftwareBreakpoints();
        lock (_lock)
        {
            _slots.Clear();
            _emulatedWatchpoints = [];
            _emulatingWatchpoints = false;
            Array.Clear(_stepping);
        }
        for (int i = 0; i < _runners.Count; i++)
            RunOn(i, cpu => { cpu.SetGuestDebug(default); return true; }, false);
        for (int i = 0; i < _runners.Count; i++)
            _gate.Release(i);
    }

    public void Kill() => _stop(new MachineExit(MachineStopReason.HostRequest, "killed by the debugger (gdb kill)"));

    void IVcpuDebugHook.OnDebugExit(VirtualCpu vcpu, DebugExit exit)
    {
        // A late exit (after a stop, a Ctrl-C or a detach) reports nothing; the gate decides whether this vCPU parks.
        if (!_running)
            return;
        if (Classify(vcpu, exit) is { } stop)
            Report(stop);
    }

    bool IVcpuDebugHook.OnEmulationFailure(VirtualCpu vcpu)
    {
        if (!_memory.HasSoftwareBreakpoints)
            return false;
        var regs = vcpu.GetRegisters();
        var sregs = vcpu.GetSpecialRegisters();
        if (!_memory.IsSoftwareBreakpoint(regs.Rip) && !_memory.IsSoftwareBreakpoint(sregs.Cs.Base + regs.Rip))
            return false;
        // The int3 stays unexecuted with RIP on it: exactly where a #BP exit would have left it.
        if (_running)
            Report(new GdbStopEvent((int)vcpu.Id, GdbStopKind.SoftwareBreakpoint));
        return true;
    }

    private GdbStopEvent? Classify(VirtualCpu vcpu, DebugExit exit)
    {
        int id = (int)vcpu.Id;
        if (exit.Exception == BreakpointVector)
            return new GdbStopEvent(id, _memory.IsSoftwareBreakpoint(exit.Pc) ? GdbStopKind.SoftwareBreakpoint : GdbStopKind.Trap);
        if (exit.Exception != DebugExceptionVector)
            return new GdbStopEvent(id, GdbStopKind.Trap);
        (GdbBreakpointType Type, ulong Address)? hit;
        lock (_lock)
            hit = _slots.Hit(exit.Dr6);
        if (hit is { } slot)
        {
            var kind = slot.Type switch
            {
                GdbBreakpointType.Software => GdbStopKind.SoftwareBreakpoint,
                GdbBreakpointType.Hardware => GdbStopKind.HardwareBreakpoint,
                GdbBreakpointType.WriteWatchpoint => GdbStopKind.WriteWatchpoint,
                GdbBreakpointType.ReadWatchpoint => GdbStopKind.ReadWatchpoint,
                _ => GdbStopKind.AccessWatchpoint,
            };
            return new GdbStopEvent(id, kind, slot.Address);
        }
        bool stepping = Volatile.Read(ref _stepping[id]);
        if ((exit.Dr6 & Dr6SingleStep) != 0 || stepping || _emulatingWatchpoints)
        {
            if (_emulatingWatchpoints && ChangedWatchpoint(vcpu) is { } address)
                return new GdbStopEvent(id, GdbStopKind.WriteWatchpoint, address);
            // A step taken only to watch memory that did not change: run on.
            return stepping ? new GdbStopEvent(id, GdbStopKind.Step) : null;
        }
        return new GdbStopEvent(id, GdbStopKind.Trap);
    }

    /// <summary>On the vCPU's own thread after one step: the first emulated watchpoint whose bytes changed.</summary>
    private ulong? ChangedWatchpoint(VirtualCpu vcpu)
    {
        Span<byte> now = stackalloc byte[EmulatedWatchpoint.MaxLength];
        foreach (var watchpoint in _emulatedWatchpoints)
        {
            var current = now[..watchpoint.Length];
            if (watchpoint.Snapshot is { } before && _memory.TryReadExactly((int)vcpu.Id, watchpoint.Address, current) && !current.SequenceEqual(before))
            {
                watchpoint.Snapshot = current.ToArray();
                return watchpoint.Address;
            }
        }
        return null;
    }

    /// <summary>On a vCPU thread: the first stop since the resume wins; every vCPU is held and the stub thread told.</summary>
    private void Report(GdbStopEvent stop)
    {
        lock (_lock)
        {
            if (!_running)
                return;
            _running = false;
            _stopEvent = stop;
            HoldAll();
        }
        _kickAll();
        SignalStop();
    }

    private void SignalStop()
    {
        try
        {
            StopSignal.Signal();
        }
        catch (ObjectDisposedException)
        {
            // The machine and its stub are gone; nobody is waiting.
        }
    }

    /// <summary>Runs <paramref name="work"/> on the vCPU's thread and waits for it; <paramref name="failed"/> if it threw, timed out or the thread ended.</summary>
    private T RunOn<T>(int vcpu, Func<VirtualCpu, T> work, T failed)
    {
        var task = _runners[vcpu].RunPaused(work);
        try
        {
            if (task.Wait(VcpuTimeout))
                return task.Result;
            _logger.LogWarning("gdb: vCPU {Vcpu} did not answer within {Seconds} s", vcpu, VcpuTimeout.TotalSeconds);
        }
        catch (AggregateException e)
        {
            _logger.LogDebug("gdb: vCPU {Vcpu}: {Error}", vcpu, e.InnerException?.Message ?? e.Message);
        }
        return failed;
    }

    public void Dispose() => StopSignal.Dispose();
}
