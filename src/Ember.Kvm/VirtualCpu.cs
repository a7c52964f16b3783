using System.Runtime.InteropServices;
using Ember.Kvm.Interop;
using Ember.Sys.Interop;
using Ember.Memory.Interop;
using Ember.Sys;

namespace Ember.Kvm;

/// <summary>
/// A KVM vCPU fd and its mmap'd <c>kvm_run</c> page. One method per ioctl; <see cref="Run"/>
/// returns a typed, allocation-free view of the exit. Everything but <see cref="Kick"/> must be
/// called from the thread that runs the vCPU (KVM requires vCPU ioctls from one thread at a time).
/// </summary>
public sealed unsafe class VirtualCpu : KvmFileDescriptor
{
    private const int MaxMsrs = 256;

    private readonly MemoryMapping _runMapping;
    private readonly byte* _run;
    private readonly int _runSize;
    private nuint _runningThread;
    private readonly Lock _kickLock = new();
    private nuint _signalMaskThread;

    internal VirtualCpu(FileDescriptorHandle handle, uint id, int mmapSize) : base(handle)
    {
        Id = id;
        _runMapping = MemoryMapping.MapFile(handle, (ulong)mmapSize, MemoryProtection.Read | MemoryProtection.Write, MappingFlags.Shared, 0);
        _run = (byte*)_runMapping.Pointer;
        _runSize = mmapSize;
    }

    /// <summary>The vCPU id given at creation, which is also its initial APIC ID.</summary>
    public uint Id { get; }

    private Span<byte> RunPage => new(_run, _runSize);

    /// <summary>
    /// KVM_RUN until the next exit. A signal (see <see cref="Kick"/>) or a set immediate_exit
    /// yields <see cref="VcpuExitReason.Interrupted"/> rather than an exception.
    /// </summary>
    public VcpuExit Run()
    {
        nuint self = Libc.PthreadSelf();
        if (self != _signalMaskThread)
            PrepareThreadForKicks(self);
        int result = IoctlPointerNoThrow(KvmIoctls.Run, null);
        if (result < 0)
        {
            if (-result == (int)Errno.EINTR || -result == (int)Errno.EAGAIN)
            {
                VcpuKickSignal.DrainPending();
                return new VcpuExit(RunPage, VcpuExitReason.Interrupted);
            }
            throw new KvmException("KVM_RUN", -result);
        }
        // Safe because exit_reason lies inside the mapped run page.
        return new VcpuExit(RunPage, (VcpuExitReason)(*(uint*)(_run + KvmRunLayout.ExitReason)));
    }

    /// <summary>
    /// Blocks the kick signal on the thread that runs this vCPU and tells KVM to unblock it only while
    /// the guest runs (KVM_SET_SIGNAL_MASK), so a kick interrupts KVM_RUN but never managed code.
    /// </summary>
    private void PrepareThreadForKicks(nuint self)
    {
        VcpuKickSignal.BlockOnCurrentThread();
        SetSignalMask(VcpuKickSignal.CurrentMaskWithKickUnblocked());
        _signalMaskThread = self;
        lock (_kickLock)
            _runningThread = self;
    }

    /// <summary>KVM_SET_SIGNAL_MASK: the signal mask in force while this vCPU is inside KVM_RUN (kernel sigset format).</summary>
    public void SetSignalMask(ulong kernelSigset)
    {
        byte* buffer = stackalloc byte[sizeof(uint) + Libc.KernelSigsetBytes];
        *(uint*)buffer = Libc.KernelSigsetBytes;
        *(ulong*)(buffer + sizeof(uint)) = kernelSigset;
        IoctlPointer(KvmIoctls.SetSignalMask, buffer, "KVM_SET_SIGNAL_MASK");
    }

    /// <summary>
    /// Makes the vCPU leave KVM_RUN soon, from any thread: sets immediate_exit (for a Run not yet
    /// entered) and signals the thread last seen in Run (for one inside the kernel). The vCPU thread
    /// clears <see cref="ImmediateExit"/> after it sees the Interrupted exit.
    /// </summary>
    public void Kick()
    {
        int signal = VcpuKickSignal.Number;
        ImmediateExit = true;
        // Under the lock that DetachThread takes: pthread_kill on a thread that has ended is undefined (it can crash).
        lock (_kickLock)
        {
            nuint thread = _runningThread;
            if (thread != 0)
                Libc.PthreadKill(thread, signal);
        }
    }

    /// <summary>
    /// The vCPU's thread is about to end: kicks no longer signal it (only set immediate_exit). Call it on that
    /// thread, last thing before it returns.
    /// </summary>
    public void DetachThread()
    {
        lock (_kickLock)
            _runningThread = 0;
    }

    /// <summary>Installs the kick signal handler; call once before vCPU threads start so Kick never races the install.</summary>
    public static void PrepareKickSignal() => _ = VcpuKickSignal.Number;

    /// <summary>kvm_run.immediate_exit: when set, KVM_RUN returns EINTR at once.</summary>
    public bool ImmediateExit
    {
        get => Volatile.Read(ref _run[KvmRunLayout.ImmediateExit]) != 0;
        set => Volatile.Write(ref _run[KvmRunLayout.ImmediateExit], value ? (byte)1 : (byte)0);
    }

    /// <summary>kvm_run.request_interrupt_window: ask KVM to exit with IRQ_WINDOW_OPEN once the guest can take an interrupt.</summary>
    public bool RequestInterruptWindow
    {
        get => _run[KvmRunLayout.RequestInterruptWindow] != 0;
        set => _run[KvmRunLayout.RequestInterruptWindow] = value ? (byte)1 : (byte)0;
    }

    /// <summary>kvm_run.ready_for_interrupt_injection: KVM_INTERRUPT would be taken now.</summary>
    public bool ReadyForInterruptInjection => _run[KvmRunLayout.ReadyForInterruptInjection] != 0;

    /// <summary>kvm_run.if_flag: the guest's RFLAGS.IF at the exit.</summary>
    public bool InterruptFlag => _run[KvmRunLayout.IfFlag] != 0;

    public ulong Cr8 => *(ulong*)(_run + KvmRunLayout.Cr8);

    public ulong ApicBase => *(ulong*)(_run + KvmRunLayout.ApicBase);

    public Registers GetRegisters() => Get<Registers>(KvmIoctls.GetRegs, "KVM_GET_REGS");

    public void SetRegisters(in Registers registers) => Set(KvmIoctls.SetRegs, registers, "KVM_SET_REGS");

    public SpecialRegisters GetSpecialRegisters() => Get<SpecialRegisters>(KvmIoctls.GetSregs, "KVM_GET_SREGS");

    public void SetSpecialRegisters(in SpecialRegisters registers) => Set(KvmIoctls.SetSregs, registers, "KVM_SET_SREGS");

    /// <summary>KVM_GET_SREGS2 (needs <see cref="KvmCapability.Sregs2"/>): the special registers and, under PAE paging, the loaded PDPTEs.</summary>
    public SpecialRegisters2 GetSpecialRegisters2() => Get<SpecialRegisters2>(KvmIoctls.GetSregs2, "KVM_GET_SREGS2");

    public FpuState GetFpu() => Get<FpuState>(KvmIoctls.GetFpu, "KVM_GET_FPU");

    public void SetFpu(in FpuState fpu) => Set(KvmIoctls.SetFpu, fpu, "KVM_SET_FPU");

    /// <summary>KVM_GET_MSRS: fills Data for each Index given; returns how many KVM read (stops at the first it cannot).</summary>
    public int GetMsrs(Span<MsrEntry> entries) => MsrIoctl(KvmIoctls.GetMsrs, entries, "KVM_GET_MSRS", copyBack: true);

    /// <summary>KVM_SET_MSRS: returns how many KVM wrote (stops at the first it refuses).</summary>
    public int SetMsrs(ReadOnlySpan<MsrEntry> entries)
    {
        Span<MsrEntry> copy = entries.Length <= 32 ? stackalloc MsrEntry[entries.Length] : new MsrEntry[entries.Length];
        entries.CopyTo(copy);
        return MsrIoctl(KvmIoctls.SetMsrs, copy, "KVM_SET_MSRS", copyBack: false);
    }

    private int MsrIoctl(nuint request, Span<MsrEntry> entries, string name, bool copyBack)
    {
        if (entries.Length > MaxMsrs)
            throw new ArgumentOutOfRangeException(nameof(entries), $"at most {MaxMsrs} MSRs per call");
        int bytes = sizeof(VariableArrayHeader) + entries.Length * sizeof(MsrEntry);
        byte* buffer = stackalloc byte[bytes];
        ((VariableArrayHeader*)buffer)->Count = (uint)entries.Length;
        ((VariableArrayHeader*)buffer)->FlagsOrPadding = 0;
        // Safe because the stack buffer holds the header plus exactly entries.Length entries.
        var native = new Span<MsrEntry>(buffer + sizeof(VariableArrayHeader), entries.Length);
        entries.CopyTo(native);
        int done = IoctlPointer(request, buffer, name);
        if (copyBack)
            native.CopyTo(entries);
        return done;
    }

    /// <summary>KVM_SET_CPUID2: the CPUID the guest will see.</summary>
    public void SetCpuid(ReadOnlySpan<CpuidEntry> entries)
    {
        int bytes = sizeof(VariableArrayHeader) + entries.Length * sizeof(CpuidEntry);
        byte* buffer = (byte*)NativeMemory.AllocZeroed((nuint)bytes);
        try
        {
            ((VariableArrayHeader*)buffer)->Count = (uint)entries.Length;
            // Safe because the buffer was sized for the header plus every entry.
            entries.CopyTo(new Span<CpuidEntry>(buffer + sizeof(VariableArrayHeader), entries.Length));
            IoctlPointer(KvmIoctls.SetCpuid2, buffer, "KVM_SET_CPUID2");
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }

    /// <summary>KVM_GET_CPUID2: what was set with <see cref="SetCpuid"/>.</summary>
    public CpuidEntry[] GetCpuid()
    {
        const int max = 256;
        int bytes = sizeof(VariableArrayHeader) + max * sizeof(CpuidEntry);
        byte* buffer = (byte*)NativeMemory.AllocZeroed((nuint)bytes);
        try
        {
            ((VariableArrayHeader*)buffer)->Count = max;
            IoctlPointer(KvmIoctls.GetCpuid2, buffer, "KVM_GET_CPUID2");
            uint count = Math.Min(((VariableArrayHeader*)buffer)->Count, max);
            // Safe because KVM wrote count ≤ max entries after the header.
            return new ReadOnlySpan<CpuidEntry>(buffer + sizeof(VariableArrayHeader), (int)count).ToArray();
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }

    /// <summary>KVM_GET_LAPIC: the in-kernel local APIC's register page.</summary>
    public LapicState GetLapic() => Get<LapicState>(KvmIoctls.GetLapic, "KVM_GET_LAPIC");

    public void SetLapic(in LapicState lapic) => Set(KvmIoctls.SetLapic, lapic, "KVM_SET_LAPIC");

    public ExtendedControlRegisters GetXcrs() => Get<ExtendedControlRegisters>(KvmIoctls.GetXcrs, "KVM_GET_XCRS");

    public void SetXcrs(in ExtendedControlRegisters xcrs) => Set(KvmIoctls.SetXcrs, xcrs, "KVM_SET_XCRS");

    public MpState GetMpState()
    {
        uint state = 0;
        IoctlRef(KvmIoctls.GetMpState, ref state, "KVM_GET_MP_STATE");
        return (MpState)state;
    }

    public void SetMpState(MpState state)
    {
        uint value = (uint)state;
        IoctlRef(KvmIoctls.SetMpState, ref value, "KVM_SET_MP_STATE");
    }

    public VcpuEvents GetVcpuEvents() => Get<VcpuEvents>(KvmIoctls.GetVcpuEvents, "KVM_GET_VCPU_EVENTS");

    public void SetVcpuEvents(in VcpuEvents events) => Set(KvmIoctls.SetVcpuEvents, events, "KVM_SET_VCPU_EVENTS");

    /// <summary>
    /// KVM_INTERRUPT: queues <paramref name="vector"/> (a vector, not a pin) for injection when no
    /// in-kernel irqchip is used. Returns the documented outcome instead of throwing, for the exit loop.
    /// </summary>
    public InterruptInjectionResult TryInterrupt(uint vector)
    {
        uint irq = vector;
        int result = IoctlPointerNoThrow(KvmIoctls.Interrupt, &irq);
        return result >= 0 ? InterruptInjectionResult.Injected : (Errno)(-result) switch
        {
            Errno.EEXIST => InterruptInjectionResult.AlreadyQueued,
            Errno.EINVAL => InterruptInjectionResult.InvalidVector,
            Errno.ENXIO => InterruptInjectionResult.IrqchipInKernel,
            Errno.EFAULT => InterruptInjectionResult.BadAddress,
            var other => throw new KvmException("KVM_INTERRUPT", (int)other),
        };
    }

    /// <summary>KVM_INTERRUPT that throws <see cref="InterruptInjectionException"/> with the typed reason.</summary>
    public void Interrupt(uint vector)
    {
        var result = TryInterrupt(vector);
        if (result != InterruptInjectionResult.Injected)
        {
            var errno = result switch
            {
                InterruptInjectionResult.AlreadyQueued => Errno.EEXIST,
                InterruptInjectionResult.InvalidVector => Errno.EINVAL,
                InterruptInjectionResult.IrqchipInKernel => Errno.ENXIO,
                _ => Errno.EFAULT,
            };
            throw new InterruptInjectionException(vector, result, errno);
        }
    }

    /// <summary>KVM_NMI: queues an NMI on this vCPU (with an in-kernel LAPIC, as if LINT1 fired in NMI mode).</summary>
    public void Nmi() => IoctlValue(KvmIoctls.Nmi, 0, "KVM_NMI");

    /// <summary>KVM_TRANSLATE: walks the vCPU's current page tables for a linear address.</summary>
    public Translation Translate(ulong linearAddress)
    {
        var translation = new Translation { LinearAddress = linearAddress };
        IoctlRef(KvmIoctls.Translate, ref translation, "KVM_TRANSLATE");
        return translation;
    }

    /// <summary>
    /// KVM_SET_GUEST_DEBUG: single-step, software (int3) and hardware breakpoints for a host-side debugger; a hit
    /// comes back as a <see cref="VcpuExitReason.Debug"/> exit instead of an exception in the guest.
    /// </summary>
    public void SetGuestDebug(in GuestDebug debug)
    {
        var copy = debug;
        IoctlRef(KvmIoctls.SetGuestDebug, ref copy, "KVM_SET_GUEST_DEBUG");
    }

    /// <summary>KVM_ENABLE_CAP on the vCPU.</summary>
    public void EnableCapability(KvmCapability capability, ulong arg0 = 0)
    {
        var request = new EnableCapRequest { Cap = (uint)capability };
        request.Args[0] = arg0;
        IoctlRef(KvmIoctls.EnableCap, ref request, $"KVM_ENABLE_CAP({capability})");
    }

    /// <summary>A "get" ioctl that fills one fixed-size struct.</summary>
    private T Get<T>(nuint request, string name) where T : unmanaged
    {
        T value = default;
        IoctlRef(request, ref value, name);
        return value;
    }

    /// <summary>A "set" ioctl that reads one fixed-size struct (copied, so the caller's value is never written).</summary>
    private void Set<T>(nuint request, in T value, string name) where T : unmanaged
    {
        var copy = value;
        IoctlRef(request, ref copy, name);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _runMapping.Dispose();
    }
}
