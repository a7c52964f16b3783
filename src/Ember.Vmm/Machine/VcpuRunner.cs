using System.Collections.Concurrent;
using System.Diagnostics;
using Ember.Devices.Bus;
using Ember.Kvm;
using Ember.Memory;
using Ember.Vmm.Cpu;
using Ember.Vmm.Diagnostics;
using Ember.Vmm.Interrupts;
using Microsoft.Extensions.Logging;

namespace Ember.Vmm.Machine;

/// <summary>
/// One vCPU's thread: KVM_RUN, then one switch that sends the exit to the PIO bus, the MMIO bus,
/// the interrupt controller or the machine's lifecycle. Nothing the guest does can throw out of
/// this loop: device errors are logged and counted, and anything fatal becomes a machine stop.
/// </summary>
internal sealed class VcpuRunner(
    VirtualCpu vcpu,
    DeviceBus pioBus,
    DeviceBus mmioBus,
    IInterruptController interrupts,
    IGuestMemory memory,
    IMachineLifecycle lifecycle,
    ILogger logger,
    VcpuPauseGate pauseGate,
    EmulatorGapCover? gapCover = null,
    GuestTriggeredLogs? logs = null)
{
    // Every line the guest can cause goes through a rate limit shared by the machine's vCPUs.
    private readonly GuestTriggeredLogs _logs = logs ?? new GuestTriggeredLogs(logger);
    private const int InstructionBytesShown = 16;
    private readonly ConcurrentQueue<(Action<VirtualCpu> Run, Action Cancel)> _pausedWork = new();
    private long _deviceErrors;
    private long _unclaimedAccesses;
    private int _finished;
    private int _threadId;

    public VirtualCpu Vcpu => vcpu;

    /// <summary>The debugger's hook for debug exits (set before the thread starts, while a GDB stub serves the machine).</summary>
    internal Debugging.IVcpuDebugHook? DebugHook { get; set; }

    /// <summary>This vCPU's exits by reason and its time in KVM_RUN.</summary>
    public VcpuExitCounters Exits { get; } = new();

    /// <summary>Port I/O exits this vCPU took.</summary>
    public long PioExits => Exits.Of(VcpuExitReason.Io);

    /// <summary>MMIO exits this vCPU took.</summary>
    public long MmioExits => Exits.Of(VcpuExitReason.Mmio);

    public long DeviceErrors => Interlocked.Read(ref _deviceErrors);

    public long UnclaimedAccesses => Interlocked.Read(ref _unclaimedAccesses);

    /// <summary>True on this vCPU's own thread, where its registers may be read at once (it is out of KVM_RUN there).</summary>
    public bool IsCurrentThread => Volatile.Read(ref _threadId) == Environment.CurrentManagedThreadId;

    /// <summary>True while work queued with <see cref="RunPaused{T}"/> waits for the vCPU thread.</summary>
    public bool HasPendingWork => !_pausedWork.IsEmpty;

    /// <summary>
    /// Runs <paramref name="work"/> on this vCPU's thread while the vCPU is out of KVM_RUN (vCPU ioctls such
    /// as KVM_GET_LAPIC and KVM_NMI must come from that thread), and kicks the vCPU so that happens soon.
    /// A vCPU halted in user space must also be woken by the caller. The task is cancelled if the vCPU
    /// thread ends first, and faults with whatever <paramref name="work"/> throws.
    /// </summary>
    public Task<T> RunPaused<T>(Func<VirtualCpu, T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pausedWork.Enqueue((cpu =>
        {
            try
            {
                done.TrySetResult(work(cpu));
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        }, () => done.TrySetCanceled()));
        if (Volatile.Read(ref _finished) != 0)
        {
            CancelPausedWork();
        }
        else
        {
            vcpu.Kick();
            pauseGate.Wake();
        }
        return done.Task;
    }

    /// <summary>Managed bytes this vCPU's thread allocated while running its exit loop (the exit path should allocate none).</summary>
    public long AllocatedBytes { get; private set; }

    public void Run()
    {
        Volatile.Write(ref _threadId, Environment.CurrentManagedThreadId);
        long allocatedAtStart = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            RunLoop();
        }
        finally
        {
            AllocatedBytes = GC.GetAllocatedBytesForCurrentThread() - allocatedAtStart;
            vcpu.DetachThread();
        }
    }

    private void RunLoop()
    {
        try
        {
            while (!lifecycle.StopRequested)
            {
                ParkWhilePaused();
                RunPausedWork();
                if (interrupts.InjectsFromUserSpace)
                    interrupts.BeforeRun(vcpu);
                long entered = Stopwatch.GetTimestamp();
                var exit = vcpu.Run();
                Exits.Count(exit.Reason, Stopwatch.GetTimestamp() - entered);
                if (!Dispatch(exit))
                    return;
            }
        }
        catch (Exception e)
        {
            // Nothing may escape a vCPU thread (it would take the process down): whatever failed, the
            // machine stops with a one-line reason and the embedding program decides what to do.
            logger.LogDebug(e, "vCPU {Id} stopped on an exception", vcpu.Id);
            lifecycle.Stop(new MachineExit(MachineStopReason.InternalError, $"vCPU {vcpu.Id}: {e.GetType().Name}: {e.Message}"));
        }
        finally
        {
            Volatile.Write(ref _finished, 1);
            CancelPausedWork();
            pauseGate.Leave((int)vcpu.Id);
        }
    }

    /// <summary>While the machine is paused, this thread stays here, out of KVM_RUN, serving only its queued work.</summary>
    internal void ParkWhilePaused()
    {
        // Checked here first: the exit path passes this on every turn and must not allocate the delegates.
        if (pauseGate.IsClosedFor((int)vcpu.Id))
            pauseGate.ParkWhileClosed((int)vcpu.Id, () => lifecycle.StopRequested, () => HasPendingWork, RunPausedWork);
    }

    private void RunPausedWork()
    {
        while (_pausedWork.TryDequeue(out var item))
            item.Run(vcpu);
    }

    private void CancelPausedWork()
    {
        while (_pausedWork.TryDequeue(out var item))
            item.Cancel();
    }

    private bool Dispatch(VcpuExit exit)
    {
        switch (exit.Reason)
        {
            case VcpuExitReason.Io:
                HandleIo(exit.Io);
                return true;
            case VcpuExitReason.Mmio:
                HandleMmio(exit.Mmio);
                return true;
            case VcpuExitReason.IoapicEoi:
                interrupts.OnIoapicEoi(exit.EoiVector);
                return true;
            case VcpuExitReason.Interrupted:
            case VcpuExitReason.IrqWindowOpen:
                // A kick (paused work, a PIC interrupt to inject) or an open interrupt window: the loop's
                // next turn runs the work and the injection. Clear the kick only now, so one that lands
                // before this point is not lost.
                vcpu.ImmediateExit = false;
                return true;
            case VcpuExitReason.Hlt:
                // Only without an in-kernel LAPIC does HLT reach user space: wait for the PIC or paused work.
                lifecycle.WaitForInterrupt(vcpu);
                return true;
            case VcpuExitReason.Shutdown:
                lifecycle.Stop(new MachineExit(MachineStopReason.Reset, $"vCPU {vcpu.Id} triple fault (shutdown)"));
                return false;
            case VcpuExitReason.SystemEvent:
                lifecycle.Stop(exit.SystemEventType switch
                {
                    SystemEventType.Shutdown => new MachineExit(MachineStopReason.PowerOff, "guest powered off (system event)"),
                    SystemEventType.Reset => new MachineExit(MachineStopReason.Reset, "guest reset (system event)"),
                    var other => new MachineExit(MachineStopReason.InternalError, $"guest system event {other}"),
                });
                return false;
            case VcpuExitReason.Debug when DebugHook is not null:
                // A breakpoint, watchpoint or step of the debugger's: it holds the vCPUs, this one parks at the gate.
                DebugHook.OnDebugExit(vcpu, exit.Debug);
                return true;
            case VcpuExitReason.InternalError:
                // An int3 the debugger planted, where KVM's emulator cannot run int3 (kvm_pvm), before the gap cover takes it.
                if (exit.InternalErrorKind == InternalErrorKind.Emulation && DebugHook is not null && DebugHook.OnEmulationFailure(vcpu))
                    return true;
                if (exit.InternalErrorKind == InternalErrorKind.Emulation && gapCover is not null && TryCoverEmulatorGap())
                    return true;
                lifecycle.Stop(DescribeInternalError(exit));
                return false;
            case VcpuExitReason.FailEntry:
                lifecycle.Stop(new MachineExit(MachineStopReason.InternalError,
                    $"vCPU {vcpu.Id}: KVM could not enter the guest (hardware reason 0x{exit.FailEntryReason:x})"));
                return false;
            default:
                lifecycle.Stop(new MachineExit(MachineStopReason.InternalError, $"vCPU {vcpu.Id}: unexpected exit {exit.Reason}"));
                return false;
        }
    }

    private void HandleIo(IoExit io)
    {
        int size = io.Size;
        if (size is not (1 or 2 or 4) || io.Data.Length != size * (int)io.Count)
        {
            Unclaimed(io.Direction == IoDirection.Out, size, "port", io.Port);
            return;
        }
        try
        {
            for (int i = 0; i < io.Count; i++)
            {
                var chunk = io.Data.Slice(i * size, size);
                bool claimed = io.Direction == IoDirection.Out ? pioBus.Write(io.Port, chunk) : pioBus.Read(io.Port, chunk);
                if (!claimed)
                    Unclaimed(io.Direction == IoDirection.Out, size, "port", io.Port);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            DeviceFailed(e, "port", io.Port);
        }
    }

    private void HandleMmio(MmioExit mmio)
    {
        try
        {
            bool claimed = mmio.IsWrite ? mmioBus.Write(mmio.Address, mmio.Data) : mmioBus.Read(mmio.Address, mmio.Data);
            if (!claimed)
                Unclaimed(mmio.IsWrite, mmio.Data.Length, "MMIO", mmio.Address);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            DeviceFailed(e, "MMIO", mmio.Address);
        }
    }

    /// <summary>An access no device took: counted always, logged (at Debug) within the rate limit. Allocates nothing unless it logs.</summary>
    private void Unclaimed(bool write, int size, string space, ulong address)
    {
        Interlocked.Increment(ref _unclaimedAccesses);
        if (_logs.UnclaimedAccess.TryBegin())
            VmmLog.UnclaimedAccess(logger, write ? "write" : "read", size, space, address);
    }

    private void DeviceFailed(Exception e, string space, ulong address)
    {
        // A device must never throw on guest input; if one does, the guest keeps running and we say so, within the rate limit.
        Interlocked.Increment(ref _deviceErrors);
        if (_logs.DeviceFailure.TryBegin())
            VmmLog.DeviceFailed(logger, e, space, address);
    }

    /// <summary>A software KVM's emulator failed: let the host-quirk component finish the instruction if it can.</summary>
    private bool TryCoverEmulatorGap()
    {
        var regs = vcpu.GetRegisters();
        var sregs = vcpu.GetSpecialRegisters();
        Span<byte> bytes = stackalloc byte[EmulatorGapDecoder.MaxInstructionLength];
        if (!VcpuLogicalMemory.TryRead(vcpu, memory, sregs.Cs.Base + regs.Rip, bytes))
            return false;
        return gapCover!.TryCover(vcpu, memory, bytes);
    }

    private MachineExit DescribeInternalError(VcpuExit exit)
    {
        var regs = vcpu.GetRegisters();
        var sregs = vcpu.GetSpecialRegisters();
        ulong linear = sregs.Cs.Base + regs.Rip;
        Span<byte> bytes = stackalloc byte[InstructionBytesShown];
        bool readable = VcpuLogicalMemory.TryRead(vcpu, memory, linear, bytes);
        string code = readable ? Convert.ToHexString(bytes).ToLowerInvariant() : "unreadable";
        if (exit.InternalErrorKind == InternalErrorKind.Emulation)
            return new MachineExit(MachineStopReason.EmulationFailure,
                readable
                    ? $"KVM could not emulate the guest instruction at RIP 0x{regs.Rip:x} (CS base 0x{sregs.Cs.Base:x}), bytes {code}"
                    : $"KVM could not emulate the guest instruction at RIP 0x{regs.Rip:x} (CS base 0x{sregs.Cs.Base:x}): the code there cannot be read, RIP does not lead into guest RAM (a jump into unmapped memory?)")
            {
                InstructionBytes = readable ? bytes.ToArray() : null,
            };
        return new MachineExit(MachineStopReason.InternalError,
            $"KVM internal error {exit.InternalErrorKind} at RIP 0x{regs.Rip:x}, bytes {code}");
    }
}
