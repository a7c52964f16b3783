using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Ember.Kvm.Interop;

namespace Ember.Kvm;

/// <summary>
/// The real-time signal used to knock a vCPU thread out of KVM_RUN. Its handler does nothing:
/// the point is that a pending signal makes KVM_RUN return EINTR. KVM_RUN is never restarted,
/// so SA_RESTART is set to keep every other syscall of the thread unaffected.
/// SIGRTMIN itself is used by the .NET runtime; we take SIGRTMIN + 4.
/// </summary>
internal static unsafe class VcpuKickSignal
{
    private const int SaRestart = 0x10000000;
    private static readonly Lazy<int> Installed = new(Install, LazyThreadSafetyMode.ExecutionAndPublication);

    public static int Number => Installed.Value;

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Handler(int signal)
    {
    }

    private static int Install()
    {
        int signal = Libc.CurrentSigRtMin() + 4;
        var action = new Libc.SigActionStruct
        {
            Handler = (nint)(delegate* unmanaged[Cdecl]<int, void>)&Handler,
            Flags = SaRestart,
        };
        // Safe because action is a local that outlives the call and the old action is not wanted.
        if (Libc.SigAction(signal, &action, null) != 0)
            throw KvmException.FromLastError("sigaction");
        return signal;
    }
}
