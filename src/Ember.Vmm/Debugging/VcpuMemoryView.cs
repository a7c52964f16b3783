using System.Runtime.ExceptionServices;
using Ember.Kvm;
using Ember.Memory;
using Ember.Vmm.Cpu.Paging;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Debugging;

/// <summary>
/// One vCPU's view of guest memory through its own page tables, for debuggers and diagnostics:
/// <c>vm.VcpuMemory[0].ReadVirtual(0xffffffff81000000, buffer)</c>. Each call takes the vCPU's paging registers at one
/// stop of that vCPU and does the whole walk and copy there, so the vCPU cannot change its tables half-way (other
/// vCPUs of a running machine can: pause it for a stable picture).
/// </summary>
/// <remarks>
/// <para>Where the registers come from: on a running or paused machine the work runs on the vCPU's own thread between
/// two exits (<c>VcpuRunner.RunPaused</c>: vCPU ioctls come from that thread), or inline when called from that thread;
/// before the machine starts and after its vCPU threads ended nothing runs the vCPU, so it is read from the caller's
/// thread. A vCPU that does not stop within <see cref="VcpuStopTimeout"/> fails the call with
/// <see cref="TimeoutException"/> and the work is dropped, never done late. Do not call it from another vCPU's thread.</para>
/// <para>Translation policy: the software <see cref="PageWalker"/> decides every read, write and translation. It says
/// which entry faulted and why, the page size and the rights, so it can refuse a write to a read-only page or a
/// user access to a supervisor page; KVM_TRANSLATE can do neither (it walks for a supervisor read and reports every
/// page writable). Under PAE the walk starts from the PDPTE registers KVM reports (KVM_GET_SREGS2) where the kernel
/// has that ioctl. KVM_TRANSLATE is the cross-check, not a fallback: <see cref="TranslateVirtual(ulong, PageAccess)"/> asks it at the same
/// stop and reports both (<see cref="VirtualTranslation.AgreesWithKvm"/>), and the tests hold them equal over random
/// page tables. Falling back to it where the walker finds no translation would only hide a disagreement (KVM's PSE-36
/// is 36 bits where the SDM allows 40; KVM on AMD reserves bit 8 of non-leaf entries) that the user should see.</para>
/// </remarks>
public sealed class VcpuMemoryView : IVirtualMemory
{
    /// <summary>How long a call waits for a running vCPU to come out of KVM_RUN and do the work.</summary>
    public static readonly TimeSpan VcpuStopTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The longest single read or write (<see cref="LinearMemory.MaxAccessLength"/>): it bounds the time the vCPU is held.</summary>
    public const int MaxAccessLength = LinearMemory.MaxAccessLength;

    private readonly VcpuRunner _runner;
    private readonly IGuestMemory _memory;
    private readonly Func<VmState> _machineState;
    private readonly Action _wakeHalted;
    private readonly bool _hasSregs2;
    private readonly Lazy<PagingCpuFeatures> _features;

    internal VcpuMemoryView(VcpuRunner runner, IGuestMemory memory, Func<VmState> machineState, Action wakeHalted, bool hasSregs2)
    {
        _runner = runner;
        _memory = memory;
        _machineState = machineState;
        _wakeHalted = wakeHalted;
        _hasSregs2 = hasSregs2;
        // CPUID does not change after the vCPU was created; read it once, on whichever thread first reads the vCPU.
        _features = new Lazy<PagingCpuFeatures>(() => PagingCpuFeatures.FromCpuid(runner.Vcpu.GetCpuid()));
    }

    public uint VcpuId => _runner.Vcpu.Id;

    /// <summary>The vCPU's paging registers now.</summary>
    public PagingState GetPagingState() => OnVcpu(ReadPagingState);

    /// <summary>Translates <paramref name="address"/> for a supervisor read; see <see cref="TranslateVirtual(ulong, PageAccess)"/>.</summary>
    public VirtualTranslation TranslateVirtual(ulong address) => TranslateVirtual(address, PageAccess.SupervisorRead);

    /// <summary>Walks <paramref name="address"/>, checks <paramref name="access"/>, and asks KVM_TRANSLATE too, all at one stop of the vCPU.</summary>
    public VirtualTranslation TranslateVirtual(ulong address, PageAccess access) => OnVcpu(cpu =>
    {
        var state = ReadPagingState(cpu);
        var kvm = cpu.Translate(address);
        PageTranslation? translation = null;
        PageFault? fault = null;
        if (PageWalker.TryWalk(state, _memory, address, out var walked, out var noTranslation))
        {
            translation = walked;
            if (!PageWalker.CheckAccess(state, walked, access, out var refused))
                fault = refused;
        }
        else
        {
            fault = noTranslation;
        }
        return new VirtualTranslation
        {
            LinearAddress = address,
            State = state,
            Translation = translation,
            Fault = fault,
            KvmPhysicalAddress = kvm.IsValid ? kvm.PhysicalAddress : null,
        };
    });

    /// <summary>Reads <paramref name="destination"/>.Length bytes at <paramref name="address"/> as the guest kernel would; throws <see cref="VirtualMemoryException"/> on a fault.</summary>
    public void ReadVirtual(ulong address, Span<byte> destination) => ReadVirtual(address, destination, PageAccess.SupervisorRead);

    /// <inheritdoc cref="ReadVirtual(ulong, Span{byte})"/>
    public void ReadVirtual(ulong address, Span<byte> destination, PageAccess access)
    {
        if (!TryReadVirtual(address, destination, access, out _, out var fault))
            throw new VirtualMemoryException(fault);
    }

    /// <summary>
    /// Reads page by page; on a fault the pages before it are in <paramref name="destination"/> and
    /// <paramref name="bytesRead"/> says how many bytes (a debugger's partial read).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Longer than <see cref="MaxAccessLength"/>.</exception>
    public bool TryReadVirtual(ulong address, Span<byte> destination, PageAccess access, out int bytesRead, out PageFault fault)
    {
        CheckLength(destination.Length);
        // Filled on the vCPU's thread: a span cannot go there.
        var buffer = new byte[destination.Length];
        var (read, failure) = OnVcpu(cpu =>
        {
            bool complete = LinearMemory.TryRead(ReadPagingState(cpu), _memory, address, buffer, access, out int count, out var f);
            return (count, complete ? (PageFault?)null : f);
        });
        buffer.AsSpan(0, read).CopyTo(destination);
        bytesRead = read;
        fault = failure ?? default;
        return failure is null;
    }

    /// <summary>Writes <paramref name="source"/> at <paramref name="address"/> as the guest kernel would (CR0.WP honoured); all or nothing.</summary>
    public void WriteVirtual(ulong address, ReadOnlySpan<byte> source) => WriteVirtual(address, source, PageAccess.SupervisorWrite);

    /// <summary>Writes with the rights of <paramref name="access"/> (<see cref="PageAccess.DebuggerWrite"/> for a breakpoint in read-only text).</summary>
    public void WriteVirtual(ulong address, ReadOnlySpan<byte> source, PageAccess access)
    {
        if (!TryWriteVirtual(address, source, access, out var fault))
            throw new VirtualMemoryException(fault);
    }

    /// <summary>Every page is translated and checked before the first byte is written: on false nothing was.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Longer than <see cref="MaxAccessLength"/>.</exception>
    public bool TryWriteVirtual(ulong address, ReadOnlySpan<byte> source, PageAccess access, out PageFault fault)
    {
        CheckLength(source.Length);
        byte[] bytes = source.ToArray();
        var failure = OnVcpu(cpu =>
            LinearMemory.TryWrite(ReadPagingState(cpu), _memory, address, bytes, access, out var f) ? (PageFault?)null : f);
        fault = failure ?? default;
        return failure is null;
    }

    private static void CheckLength(int length)
    {
        if (length > MaxAccessLength)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"one access through the page tables is at most {MaxAccessLength} bytes");
    }

    private PagingState ReadPagingState(VirtualCpu cpu)
    {
        ulong rflags = cpu.GetRegisters().Rflags;
        return _hasSregs2
            ? PagingState.FromRegisters(cpu.GetSpecialRegisters2(), rflags, _features.Value)
            : PagingState.FromRegisters(cpu.GetSpecialRegisters(), rflags, _features.Value);
    }

    /// <summary>Runs <paramref name="work"/> where the vCPU's registers may be read (see the remarks) and returns its result.</summary>
    private T OnVcpu<T>(Func<VirtualCpu, T> work)
    {
        if (_runner.IsCurrentThread || _machineState() == VmState.NotStarted)
            return work(_runner.Vcpu);
        // Whoever claims first decides: the vCPU thread (the work runs) or a timeout (the work is dropped, never done late).
        int claimed = 0;
        var task = _runner.RunPaused(cpu => Interlocked.Exchange(ref claimed, 1) == 0 ? work(cpu) : default!);
        _wakeHalted();
        try
        {
            if (!task.Wait(VcpuStopTimeout) && Interlocked.Exchange(ref claimed, 1) == 0)
                throw new TimeoutException($"vCPU {VcpuId} did not stop between two exits within {VcpuStopTimeout.TotalSeconds:0} s");
            return task.Result;
        }
        catch (AggregateException e) when (e.InnerException is TaskCanceledException)
        {
            // The vCPU thread ended before it got to the work (the machine stopped): nothing runs the vCPU any more.
            return work(_runner.Vcpu);
        }
        catch (AggregateException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }
}
