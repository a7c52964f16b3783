using System.Runtime.InteropServices;
using Ember.Kvm.Interop;

namespace Ember.Kvm;

/// <summary>
/// The real-time signal used to knock a vCPU thread out of KVM_RUN: a pending signal makes KVM_RUN
/// return EINTR. SIGRTMIN itself is used by the .NET runtime; we take SIGRTMIN + 4.
/// <para>
/// The handler must be native. A kick can land while the vCPU thread runs managed code (between two
/// KVM_RUNs), and the runtime fails fast ("attempted to call a UnmanagedCallersOnly method from managed
/// code") if a signal enters a managed [UnmanagedCallersOnly] handler on such a thread. So the signal is
/// registered with <see cref="PosixSignalRegistration"/>: the runtime installs its own async-signal-safe
/// native handler (SA_RESTART, so other syscalls of the thread are restarted; KVM_RUN returns EINTR
/// regardless) and queues the signal to a runtime thread, where it is cancelled, i.e. ignored.
/// </para>
/// </summary>
internal static class VcpuKickSignal
{
    private const int OffsetFromSigRtMin = 4;

    private static readonly Lazy<int> Installed = new(Install, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Kept reachable for the life of the process: disposing the registration would uninstall the handler.</summary>
    private static PosixSignalRegistration? _registration;

    public static int Number => Installed.Value;

    private static int Install()
    {
        int signal = Libc.CurrentSigRtMin() + OffsetFromSigRtMin;
        // Raw signal numbers are accepted cast to PosixSignal; cancelling skips the default action (terminate).
        _registration = PosixSignalRegistration.Create((PosixSignal)signal, context => context.Cancel = true);
        return signal;
    }
}
