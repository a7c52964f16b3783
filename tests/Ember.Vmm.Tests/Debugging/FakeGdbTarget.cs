using Ember.Vmm.Debugging;

namespace Ember.Vmm.Tests.Debugging;

/// <summary>
/// A target for session tests: registers per vCPU, readable memory in [<see cref="MemoryStart"/>,
/// <see cref="MemoryStart"/> + <see cref="Memory"/>.Length), and a record of everything the session asked for.
/// </summary>
internal sealed class FakeGdbTarget(int vcpuCount = 1, bool longMode = true) : IGdbTarget
{
    public const ulong MemoryStart = 0x1000;

    public X86RegisterState[] Registers { get; } = [.. Enumerable.Range(0, vcpuCount).Select(i => NewState(i, longMode))];

    public byte[] Memory { get; } = [.. Enumerable.Range(0, 0x2000).Select(i => (byte)i)];

    public List<IReadOnlyList<GdbResumeAction>> Resumes { get; } = [];

    public List<(bool Insert, GdbBreakpointType Type, ulong Address, ulong Length)> Breakpoints { get; } = [];

    public GdbBreakpointResult BreakpointResult { get; set; } = GdbBreakpointResult.Done;

    public GdbStopEvent? PendingStop { get; set; }

    public int StopAllCalls { get; private set; }

    public bool Detached { get; private set; }

    public bool Killed { get; private set; }

    public int? ExitStatus { get; set; }

    public int VcpuCount => Registers.Length;

    private static X86RegisterState NewState(int vcpu, bool longMode)
    {
        var state = new X86RegisterState();
        state.General.Rax = 0x1111_0000UL + (ulong)vcpu;
        state.General.Rip = 0x10_0000UL + (ulong)vcpu;
        state.General.Rflags = 0x202;
        state.Special.Cs.Selector = 0x10;
        state.Special.Cr0 = 0x8000_0011;
        if (longMode)
        {
            state.Special.Efer = 0x500;
            state.Special.Cs.L = 1;
        }
        state.Fpu.Fcw = 0x37F;
        state.Fpu.Mxcsr = 0x1F80;
        return state;
    }

    public GdbStopEvent? StopAll()
    {
        StopAllCalls++;
        var stop = PendingStop;
        PendingStop = null;
        return stop;
    }

    public void Resume(IReadOnlyList<GdbResumeAction> actions) => Resumes.Add([.. actions]);

    public GdbStopEvent? TakeStopEvent()
    {
        var stop = PendingStop;
        PendingStop = null;
        return stop;
    }

    public X86RegisterState? ReadRegisters(int vcpu) => Registers[vcpu].Clone();

    public bool WriteRegisters(int vcpu, X86RegisterState state)
    {
        Registers[vcpu] = state.Clone();
        return true;
    }

    public int ReadMemory(int vcpu, ulong address, Span<byte> destination)
    {
        if (address < MemoryStart || address - MemoryStart >= (ulong)Memory.Length)
            return 0;
        int start = (int)(address - MemoryStart);
        int count = Math.Min(destination.Length, Memory.Length - start);
        Memory.AsSpan(start, count).CopyTo(destination);
        return count;
    }

    public bool WriteMemory(int vcpu, ulong address, ReadOnlySpan<byte> source)
    {
        if (address < MemoryStart || address - MemoryStart + (ulong)source.Length > (ulong)Memory.Length)
            return false;
        source.CopyTo(Memory.AsSpan((int)(address - MemoryStart)));
        return true;
    }

    public GdbBreakpointResult InsertBreakpoint(int vcpu, GdbBreakpointType type, ulong address, ulong length)
    {
        Breakpoints.Add((true, type, address, length));
        return BreakpointResult;
    }

    public GdbBreakpointResult RemoveBreakpoint(int vcpu, GdbBreakpointType type, ulong address, ulong length)
    {
        Breakpoints.Add((false, type, address, length));
        return BreakpointResult;
    }

    public void Detach() => Detached = true;

    public void Kill() => Killed = true;
}
