using Ember.Vmm.Machine;

namespace Ember.Cli;

/// <summary>
/// The exit statuses of `ember`, one meaning each (README, "Exit status"). Guest results are 0, 4 and the
/// odd debug-exit values; Ember's own failures use numbers no guest result can produce.
/// </summary>
internal static class ExitStatus
{
    /// <summary>The guest powered off, Ctrl-A X, or a command that has no guest (doctor, help) succeeded.</summary>
    public const int Success = MachineExit.ExitPowerOff;

    /// <summary>A command that checks something (doctor) found it missing.</summary>
    public const int CheckFailed = 1;

    /// <summary>Bad arguments or an input Ember cannot use (one line on stderr says which and why).</summary>
    public const int UsageError = MachineExit.ExitUsageError;

    /// <summary>The guest reset or triple-faulted.</summary>
    public const int GuestReset = MachineExit.ExitReset;

    /// <summary>KVM could not emulate a guest instruction, or reported an internal error.</summary>
    public const int KvmFailure = MachineExit.ExitInternalError;

    /// <summary>Ember itself failed (a bug): sysexits' EX_SOFTWARE. Even, so never a debug-exit value.</summary>
    public const int EmberFailure = 70;

    /// <summary>Ember could not write its own output (stdout full or closed): sysexits' EX_IOERR, even too.</summary>
    public const int OutputFailure = 74;

    /// <summary>Stopped by a signal: 128 + its number, as a shell reports it (SIGHUP 129, SIGTERM 143).</summary>
    public static int FromSignal(int signal) => 128 + signal;
}
