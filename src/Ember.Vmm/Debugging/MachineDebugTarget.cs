using System.Runtime.InteropServices;
using Ember.Kvm;
using Ember.Sys;
using Ember.Vmm.Machine;
using Microsoft.Extensions.Logging;

namespace Ember.Vmm.Debugging;

/// <summary>
/// The machine side of the GDB stub: stops and starts vCPUs through the pause gate's per-vCPU holds, reads and
/// writes their registers and memory on their own threads (vCPU ioctls must come from there), and keeps the
/// breakpoints. Software breakpoints are int3 bytes patched into guest memory and restored; hardware breakpoints
/// and watchpoints use the four debug registers through KVM_SET_GUEST_DEBUG; single-step is KVM's. A vCPU thread
/// that takes a debug exit holds every vCPU and signals <see cref="StopSignal"/>; the stub thread then reports.
/// <para>
/// Host differences (docs/host-quirks.md): where KVM's emulator runs guest kernel code (kvm_pvm) an int3 is an
/// emulation failure rather than a #BP, so a failure at a planted int3 is taken as the breakpoint; and data
/// breakpoints are not delivered there, so write watchpoints are kept by single-stepping and comparing, and read or
/// access watchpoints are refused.
/// </para>
/// </summary>
internal sealed class MachineDebugTarget : IGdbTarget, IVcpuDebugHook, IDisposable
{
    private static readonly TimeSpan VcpuTimeout = TimeSpan.FromSeconds(10);
    private const byte Int3 = 0xCC;
    private const uint DebugExceptionVector = 1;
    private const uint BreakpointVector = 3;
    private const ulong Dr6SingleStep = 1 << 14;
    private const int PageSize = 0x1000;

    private readonly IReadOnlyList<VcpuRunner> _runners;
    private readonly VcpuPauseGate _gate;
    private readonly IGdbTargetMemory _memory;
    private readonly Action _kickAll;
    private readonly Action<MachineExit> _stop;
    private readonly Task<MachineExit> _exited;
    private readonly bool _dataBreakpointsDelivered;
    private readonly uint _blockInterruptsWhileStepping;
    private readonly ILogger _logger;
    private readonly object _lock = new();
    private readonly Dictionary<ulong, SoftwareBreakpoint> _softwareBreakpoints = [];
    private readonly DebugRegisterSlots _slots = new();
    private readonly bool[] _stepping;
    private volatile EmulatedWatchpoint[] _emulatedWatchpoints = [];
    private volatile bool _emulatingWatchpoints;
    private volatile bool _hasSoftwareBreakpoints;
    private volatile bool _running;
    private GdbStopEvent? _stopEvent;

    /// <param name="dataBreakpointsDelivered">False where KVM's emulator runs guest kernel code and skips data breakpoints (kvm_pvm).</param>
    /// <param name="supportedDebugFlags">KVM_CAP_SET_GUEST_DEBUG2: the KVM_GUESTDBG_* flags this KVM takes (0 if it does not say).</param>
    public MachineDebugTarget(IReadOnlyList<VcpuRunner> runners, VcpuPauseGate gate, IGdbTargetMemory memory, Action kickAll,
        Action<MachineExit> stop, Task<MachineExit> exited, bool dataBreakpointsDelivered, uint supportedDebugFlags, ILogger logger)
    {
        _runners = runners;
        _gate = gate;
        _memory = memory;
        _kickAll = kickAll;
        _stop = stop;
        _exited = exited;
        _dataBreakpointsDelivered = dataBreakpointsDelivered;
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
            if (_softwareBreakpoints.Count > 0)
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

    public X86RegisterState? ReadRegisters(int vcpu) => RunOn(vcpu, cpu => new X86RegisterState
    {
        General = cpu.GetRegisters(),
        Special = cpu.GetSpecialRegisters(),
        Fpu = cpu.GetFpu(),
    }, null);

    /// <summary>Sets only the register groups that changed, so a G packet that rewrites everything disturbs no state it did not mean to.</summary>
    public bool WriteRegisters(int vcpu, X86RegisterState state) => RunOn(vcpu, cpu =>
    {
        var general = cpu.GetRegisters();
        if (!SameBytes(general, state.General))
            cpu.SetRegisters(state.General);
        var special = cpu.GetSpecialRegisters();
        if (!SameBytes(special, state.Special))
            cpu.SetSpecialRegisters(state.Special);
        var fpu = cpu.GetFpu();
        if (!SameBytes(fpu, state.Fpu))
            cpu.SetFpu(state.Fpu);
        return true;
    }, false);

    private static bool SameBytes<T>(T a, T b) where T : unmanaged =>
        MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in a)).SequenceEqual(MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in b)));

    public int ReadMemory(int vcpu, ulong address, Span<byte> destination)
    {
        var buffer = new byte[destination.Length];
        int read = RunOn(vcpu, cpu => ReadAsFarAsMapped(cpu, address, buffer), 0);
        lock (_lock)
        {
            // Show the code as it is, not the debugger's int3 in it.
            foreach (var (at, breakpoint) in _softwareBreakpoints)
            {
                if (at >= address && at - address < (ulong)read)
                    buffer[at - address] = breakpoint.Original;
            }
        }
        buffer.AsSpan(0, read).CopyTo(destination);
        return read;
    }

    /// <summary>The whole range, or page by page up to the first page that cannot be read.</summary>
    private int ReadAsFarAsMapped(VirtualCpu cpu, ulong address, byte[] buffer)
    {
        if (_memory.TryRead(cpu, address, buffer))
            return buffer.Length;
        int done = 0;
        while (done < buffer.Length)
        {
            ulong at = address + (ulong)done;
            int chunk = (int)Math.Min((ulong)(buffer.Length - done), PageSize - (at & (PageSize - 1)));
            if (!_memory.TryRead(cpu, at, buffer.AsSpan(done, chunk)))
                break;
            done += chunk;
        }
        return done;
    }

    public bool WriteMemory(int vcpu, ulong address, ReadOnlySpan<byte> source)
    {
        var data = source.ToArray();
        var planted = new List<(ulong Address, byte NewOriginal)>();
        lock (_lock)
        {
            // A write over a planted int3 changes the byte it will restore; the int3 stays.
            foreach (var (at, _) in _softwareBreakpoints)
            {
                if (at >= address && at - address < (ulong)data.Length)
                {
                    planted.Add((at, data[at - address]));
                    data[at - address] = Int3;
                }
            }
        }
        if (!RunOn(vcpu, cpu => _memory.TryWrite(cpu, address, data), false))
            return false;
        lock (_lock)
        {
            foreach (var (at, original) in planted)
            {
                if (_softwareBreakpoints.TryGetValue(at, out var breakpoint))
                    _softwareBreakpoints[at] = breakpoint with { Original = original };
            }
        }
        return true;
    }

    public GdbBreakpointResult InsertBreakpoint(int vcpu, GdbBreakpointType type, ulong address, ulong length)
    {
        switch (type)
        {
            case GdbBreakpointType.Software:
                return InsertSoftwareBreakpoint(vcpu, address);
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
            case GdbBreakpointType.Software:
                return RemoveSoftwareBreakpoint(address);
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

    private GdbBreakpointResult InsertSoftwareBreakpoint(int vcpu, ulong address)
    {
        lock (_lock)
        {
            if (_softwareBreakpoints.ContainsKey(address))
                return GdbBreakpointResult.Done;
        }
        if (ReadBytes(vcpu, address, 1) is not [var original])
            return GdbBreakpointResult.Failed;
        if (!RunOn(vcpu, cpu => _memory.TryWrite(cpu, address, [Int3]), false))
            return GdbBreakpointResult.Failed;
        lock (_lock)
        {
            _softwareBreakpoints[address] = new SoftwareBreakpoint(vcpu, original);
            _hasSoftwareBreakpoints = true;
        }
        return GdbBreakpointResult.Done;
    }

    private GdbBreakpointResult RemoveSoftwareBreakpoint(ulong address)
    {
        SoftwareBreakpoint breakpoint;
        lock (_lock)
        {
            if (!_softwareBreakpoints.Remove(address, out breakpoint))
                return GdbBreakpointResult.Done;
            _hasSoftwareBreakpoints = _softwareBreakpoints.Count > 0;
        }
        return Restore(address, breakpoint) ? GdbBreakpointResult.Done : GdbBreakpointResult.Failed;
    }

    private bool Restore(ulong address, SoftwareBreakpoint breakpoint) =>
        RunOn(breakpoint.Vcpu, cpu => _memory.TryWrite(cpu, address, [breakpoint.Original]), false);

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

    private byte[]? ReadBytes(int vcpu, ulong address, int length) => RunOn(vcpu, cpu =>
    {
        var bytes = new byte[length];
        return _memory.TryRead(cpu, address, bytes) ? bytes : null;
    }, null);

    public void Detach()
    {
        StopAll();
        List<(ulong Address, SoftwareBreakpoint Breakpoint)> planted;
        lock (_lock)
        {
            planted = [.. _softwareBreakpoints.Select(p => (p.Key, p.Value))];
            _softwareBreakpoints.Clear();
            _hasSoftwareBreakpoints = false;
            _slots.Clear();
            _emulatedWatchpoints = [];
            _emulatingWatchpoints = false;
            Array.Clear(_stepping);
        }
        foreach (var (address, breakpoint) in planted)
        {
            if (!Restore(address, breakpoint))
                _logger.LogWarning("gdb: could not restore the byte under the breakpoint at 0x{Address:x}", address);
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
        if (!_hasSoftwareBreakpoints)
            return false;
        var regs = vcpu.GetRegisters();
        var sregs = vcpu.GetSpecialRegisters();
        bool planted;
        lock (_lock)
            planted = _softwareBreakpoints.ContainsKey(regs.Rip) || _softwareBreakpoints.ContainsKey(sregs.Cs.Base + regs.Rip);
        if (!planted)
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
        {
            lock (_lock)
                return new GdbStopEvent(id, _softwareBreakpoints.ContainsKey(exit.Pc) ? GdbStopKind.SoftwareBreakpoint : GdbStopKind.Trap);
        }
        if (exit.Exception != DebugExceptionVector)
            return new GdbStopEvent(id, GdbStopKind.Trap);
        (GdbBreakpointType Type, ulong Address)? hit;
        lock (_lock)
            hit = _slots.Hit(exit.Dr6);
        if (hit is { } slot)
        {
            var kind = slot.Type switch
            {
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
            if (watchpoint.Snapshot is { } before && _memory.TryRead(vcpu, watchpoint.Address, current) && !current.SequenceEqual(before))
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
