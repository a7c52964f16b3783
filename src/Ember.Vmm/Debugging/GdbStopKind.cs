namespace Ember.Vmm.Debugging;

/// <summary>Why the target stopped, as a stop reply tells GDB (GDB manual, "Stop Reply Packets").</summary>
internal enum GdbStopKind
{
    /// <summary>Stopped for the debugger that just connected (or before the first instruction): SIGTRAP.</summary>
    Attached,

    /// <summary>A single step finished: SIGTRAP.</summary>
    Step,

    /// <summary>A planted int3 was reached: SIGTRAP with <c>swbreak</c>, the PC at the breakpoint.</summary>
    SoftwareBreakpoint,

    /// <summary>A debug-register instruction breakpoint fired: SIGTRAP with <c>hwbreak</c>.</summary>
    HardwareBreakpoint,

    /// <summary>A write watchpoint fired: SIGTRAP with <c>watch:ADDR</c>.</summary>
    WriteWatchpoint,

    /// <summary>A read watchpoint fired: SIGTRAP with <c>rwatch:ADDR</c>.</summary>
    ReadWatchpoint,

    /// <summary>An access watchpoint fired: SIGTRAP with <c>awatch:ADDR</c>.</summary>
    AccessWatchpoint,

    /// <summary>GDB interrupted the target (Ctrl-C): SIGINT.</summary>
    Interrupted,

    /// <summary>A debug trap the debugger did not set (the guest's own int3 while software breakpoints are on): SIGTRAP.</summary>
    Trap,
}
