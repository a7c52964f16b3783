namespace Ember.Vmm.Debugging;

/// <summary>
/// What a GDB session needs from the machine it debugs, in all-stop mode: every vCPU (a GDB thread, ids 1..n) is
/// stopped while packets are served, and resumes only when GDB says so. vCPUs are numbered from 0 here; the session
/// adds one for GDB's thread ids. Nothing here throws on a bad request: failures come back as null, false or a result.
/// </summary>
internal interface IGdbTarget
{
    int VcpuCount { get; }

    /// <summary>Stops every vCPU and returns once all are out of the guest. Returns the stop that was pending, if any.</summary>
    GdbStopEvent? StopAll();

    /// <summary>Starts the vCPUs again, each as <paramref name="actions"/> says (one per vCPU).</summary>
    void Resume(IReadOnlyList<GdbResumeAction> actions);

    /// <summary>The stop since the last <see cref="Resume"/>, once the whole target is stopped; null while it runs.</summary>
    GdbStopEvent? TakeStopEvent();

    /// <summary>The process exit status of a machine that has ended; null while it lives.</summary>
    int? ExitStatus { get; }

    X86RegisterState? ReadRegisters(int vcpu);

    bool WriteRegisters(int vcpu, X86RegisterState state);

    /// <summary>
    /// Reads guest virtual memory as <paramref name="vcpu"/> sees it; returns how many bytes from the start could be
    /// read (0 when none). Planted breakpoints read as the bytes they replaced.
    /// </summary>
    int ReadMemory(int vcpu, ulong address, Span<byte> destination);

    bool WriteMemory(int vcpu, ulong address, ReadOnlySpan<byte> source);

    GdbBreakpointResult InsertBreakpoint(int vcpu, GdbBreakpointType type, ulong address, ulong length);

    GdbBreakpointResult RemoveBreakpoint(int vcpu, GdbBreakpointType type, ulong address, ulong length);

    /// <summary>Removes every breakpoint and watchpoint, turns guest debugging off and lets every vCPU run untouched.</summary>
    void Detach();

    /// <summary>Ends the machine.</summary>
    void Kill();
}
