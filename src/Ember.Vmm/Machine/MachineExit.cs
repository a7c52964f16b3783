namespace Ember.Vmm.Machine;

/// <summary>
/// How a machine ended, and the process exit status `ember run` turns it into:
/// 0 power-off or host stop, 4 guest reset/triple fault, 6 emulation failure or internal error,
/// and (v &lt;&lt; 1) | 1 after a debug-exit write of v (odd, so it never collides with the others).
/// Status 2 is reserved for bad user input, reported before a machine exists.
/// </summary>
public sealed record MachineExit(MachineStopReason Reason, string Message, byte DebugExitValue = 0)
{
    public const int ExitPowerOff = 0;
    public const int ExitUsageError = 2;
    public const int ExitReset = 4;
    public const int ExitInternalError = 6;

    /// <summary>For an emulation failure: the instruction bytes at RIP, when they could be read.</summary>
    public byte[]? InstructionBytes { get; init; }

    public int ExitCode => Reason switch
    {
        MachineStopReason.PowerOff or MachineStopReason.HostRequest => ExitPowerOff,
        MachineStopReason.Reset => ExitReset,
        MachineStopReason.DebugExit => (DebugExitValue << 1) | 1,
        _ => ExitInternalError,
    };
}
