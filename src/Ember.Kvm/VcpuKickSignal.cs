using Ember.Kvm.Interop;
using Ember.Sys.Interop;

namespace Ember.Kvm;

/// <summary>
/// The real-time signal used to knock a vCPU thread out of KVM_RUN (SIGRTMIN + 4; SIGRTMIN itself
/// belongs to the .NET runtime). No handler ever runs: the signal is blocked on every vCPU thread and
/// unblocked only inside KVM_RUN through KVM_SET_SIGNAL_MASK, so it can only interrupt the guest,
/// never managed code. A signal that arrives outside KVM_RUN stays pending and makes the next
/// KVM_RUN return EINTR at once; after every EINTR the thread consumes it with sigtimedwait.
/// The disposition is SIG_IGN as a safety net: a blocked signal is still queued even when ignored.
/// </summary>
internal static unsafe class VcpuKickSignal
{
    private const nint SigIgn = 1;
    private static readonly Lazy<int> Installed = new(Install, LazyThreadSafetyMode.ExecutionAndPublication);

    public static int Number => Installed.Value;

    private static int Install()
    {
        int signal = Libc.CurrentSigRtMin() + 4;
        var action = new Libc.SigActionStruct { Handler = SigIgn };
        // Safe because action is a local that outlives the call and the old action is not wanted.
        if (Libc.SigAction(signal, &action, null) != 0)
            throw KvmException.FromLastError("sigaction");
        return signal;
    }

    /// <summary>A kernel-format (64-bit) signal set with just the kick signal.</summary>
    public static ulong Mask => 1UL << (Number - 1);

    /// <summary>Blocks the kick signal on the calling thread.</summary>
    public static void BlockOnCurrentThread()
    {
        ulong* set = stackalloc ulong[16];
        new Span<ulong>(set, 16).Clear();
        set[0] = Mask;
        // Safe because set is a 128-byte stack buffer, glibc's sigset_t size.
        Libc.PthreadSigmask(Libc.SIG_BLOCK, set, null);
    }

    /// <summary>The calling thread's signal mask in kernel format, with the kick signal removed (what KVM_RUN should run with).</summary>
    public static ulong CurrentMaskWithKickUnblocked()
    {
        ulong* old = stackalloc ulong[16];
        new Span<ulong>(old, 16).Clear();
        Libc.PthreadSigmask(Libc.SIG_BLOCK, null, old);
        return old[0] & ~Mask;
    }

    /// <summary>Consumes any kick signals pending on the calling thread, without waiting.</summary>
    public static void DrainPending()
    {
        ulong* set = stackalloc ulong[16];
        new Span<ulong>(set, 16).Clear();
        set[0] = Mask;
        var zero = new Libc.TimeSpec();
        // Safe because set and zero are locals; a null siginfo is allowed.
        while (Libc.SigTimedWait(set, null, &zero) > 0)
        {
        }
    }
}
