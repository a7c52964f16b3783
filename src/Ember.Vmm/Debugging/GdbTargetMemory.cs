using Ember.Sys;
using Ember.Vmm.Cpu.Paging;
using Microsoft.Extensions.Logging;

namespace Ember.Vmm.Debugging;

/// <summary>
/// Guest memory as the GDB stub sees it: by virtual address, through the page tables of the vCPU GDB selected
/// (<see cref="IVirtualMemory"/>, the software page walker), with a debugger's rights (any mapped page, read-only text
/// included), and with the software breakpoints it planted. An int3 planted here reads back as the byte it replaced,
/// and a write over it changes the byte to restore while the int3 stays, so GDB never sees its own patches.
/// </summary>
/// <remarks>
/// <para>Why the walker and not KVM_TRANSLATE: the walk needs only the control registers and guest memory, says which
/// entry faulted (logged, so a "Cannot access memory" in GDB can be explained), and does not depend on the host's
/// KVM implementing KVM_TRANSLATE for the guest's paging mode; KVM_TRANSLATE stays the cross-check
/// (<see cref="VcpuMemoryView.TranslateVirtual(ulong, PageAccess)"/>).</para>
/// <para>Nothing here throws: GDB's request names any address, and a vCPU that does not answer, an ioctl that fails or a
/// machine that went away makes the access fail (an E reply) instead of ending the stub. The breakpoint table is locked
/// only around its own reads and writes, never across a vCPU access: a vCPU thread asks <see cref="IsSoftwareBreakpoint"/>
/// from its exit path while the stub thread may be waiting for that vCPU.</para>
/// </remarks>
internal sealed class GdbTargetMemory(IReadOnlyList<IVirtualMemory> vcpus, ILogger logger)
{
    public const byte Int3 = 0xCC;

    private readonly object _lock = new();
    private readonly Dictionary<ulong, SoftwareBreakpoint> _breakpoints = [];
    private volatile bool _hasBreakpoints;

    /// <summary>True while any int3 is planted (read without the lock on a vCPU's exit path).</summary>
    public bool HasSoftwareBreakpoints => _hasBreakpoints;

    public bool IsSoftwareBreakpoint(ulong address)
    {
        lock (_lock)
            return _breakpoints.ContainsKey(address);
    }

    /// <summary>
    /// Reads up to <paramref name="destination"/>.Length bytes (at most <see cref="LinearMemory.MaxAccessLength"/>) at
    /// <paramref name="address"/> as <paramref name="vcpu"/> maps it, page by page up to the first page that cannot be
    /// read; returns how many bytes were read (0 when none). Planted breakpoints read as the bytes they replaced.
    /// </summary>
    public int Read(int vcpu, ulong address, Span<byte> destination)
    {
        var range = destination[..Math.Min(destination.Length, LinearMemory.MaxAccessLength)];
        int read = ReadMapped(vcpu, address, range);
        lock (_lock)
        {
            foreach (var (at, breakpoint) in _breakpoints)
            {
                if (at - address < (ulong)read)
                    range[(int)(at - address)] = breakpoint.Original;
            }
        }
        return read;
    }

    /// <summary>True when all of <paramref name="destination"/> could be read (a watchpoint's bytes).</summary>
    public bool TryReadExactly(int vcpu, ulong address, Span<byte> destination) =>
        destination.Length <= LinearMemory.MaxAccessLength && Read(vcpu, address, destination) == destination.Length;

    /// <summary>
    /// Writes <paramref name="source"/> at <paramref name="address"/> as <paramref name="vcpu"/> maps it, read-only pages
    /// included; false, with nothing written, if any page is unmapped or not RAM. Over a planted int3 the new byte becomes
    /// the one to restore and the int3 stays.
    /// </summary>
    public bool Write(int vcpu, ulong address, ReadOnlySpan<byte> source)
    {
        if (source.Length > LinearMemory.MaxAccessLength)
            return false;
        var data = source.ToArray();
        var covered = new List<(ulong Address, byte NewOriginal)>();
        lock (_lock)
        {
            foreach (var (at, _) in _breakpoints)
            {
                if (at - address < (ulong)data.Length)
                {
                    covered.Add((at, data[at - address]));
                    data[at - address] = Int3;
                }
            }
        }
        if (!WriteMapped(vcpu, address, data))
            return false;
        lock (_lock)
        {
            foreach (var (at, original) in covered)
            {
                if (_breakpoints.TryGetValue(at, out var breakpoint))
                    _breakpoints[at] = breakpoint with { Original = original };
            }
        }
        return true;
    }

    /// <summary>Plants an int3 at <paramref name="address"/> as <paramref name="vcpu"/> maps it, remembering the byte it replaces.</summary>
    public GdbBreakpointResult InsertSoftwareBreakpoint(int vcpu, ulong address)
    {
        if (IsSoftwareBreakpoint(address))
            return GdbBreakpointResult.Done;
        Span<byte> original = stackalloc byte[1];
        if (ReadMapped(vcpu, address, original) != 1 || !WriteMapped(vcpu, address, [Int3]))
            return GdbBreakpointResult.Failed;
        lock (_lock)
        {
            _breakpoints[address] = new SoftwareBreakpoint(vcpu, original[0]);
            _hasBreakpoints = true;
        }
        return GdbBreakpointResult.Done;
    }

    /// <summary>Puts the replaced byte back (through the vCPU that planted it); removing one that is not planted is done.</summary>
    public GdbBreakpointResult RemoveSoftwareBreakpoint(ulong address)
    {
        SoftwareBreakpoint breakpoint;
        lock (_lock)
        {
            if (!_breakpoints.Remove(address, out breakpoint))
                return GdbBreakpointResult.Done;
            _hasBreakpoints = _breakpoints.Count > 0;
        }
        return WriteMapped(breakpoint.Vcpu, address, [breakpoint.Original]) ? GdbBreakpointResult.Done : GdbBreakpointResult.Failed;
    }

    /// <summary>Removes every planted int3 (a detach); one that cannot be restored is logged.</summary>
    public void RemoveAllSoftwareBreakpoints()
    {
        List<(ulong Address, SoftwareBreakpoint Breakpoint)> planted;
        lock (_lock)
        {
            planted = [.. _breakpoints.Select(p => (p.Key, p.Value))];
            _breakpoints.Clear();
            _hasBreakpoints = false;
        }
        foreach (var (address, breakpoint) in planted)
        {
            if (!WriteMapped(breakpoint.Vcpu, address, [breakpoint.Original]))
                logger.LogWarning("gdb: could not restore the byte under the breakpoint at 0x{Address:x}", address);
        }
    }

    private int ReadMapped(int vcpu, ulong address, Span<byte> destination)
    {
        if ((uint)vcpu >= (uint)vcpus.Count)
            return 0;
        try
        {
            if (!vcpus[vcpu].TryReadVirtual(address, destination, PageAccess.DebuggerRead, out int read, out var fault))
                logger.LogDebug("gdb: vCPU {Vcpu} read of 0x{Length:x} bytes at 0x{Address:x} stopped after 0x{Read:x}: {Fault}",
                    vcpu, destination.Length, address, read, fault);
            return read;
        }
        catch (Exception e) when (e is TimeoutException or SystemCallException or ObjectDisposedException)
        {
            logger.LogWarning("gdb: vCPU {Vcpu} could not read 0x{Address:x}: {Error}", vcpu, address, e.Message);
            return 0;
        }
    }

    private bool WriteMapped(int vcpu, ulong address, ReadOnlySpan<byte> source)
    {
        if ((uint)vcpu >= (uint)vcpus.Count)
            return false;
        try
        {
            if (vcpus[vcpu].TryWriteVirtual(address, source, PageAccess.DebuggerWrite, out var fault))
                return true;
            logger.LogDebug("gdb: vCPU {Vcpu} write of 0x{Length:x} bytes at 0x{Address:x} refused: {Fault}", vcpu, source.Length, address, fault);
            return false;
        }
        catch (Exception e) when (e is TimeoutException or SystemCallException or ObjectDisposedException)
        {
            logger.LogWarning("gdb: vCPU {Vcpu} could not write 0x{Address:x}: {Error}", vcpu, address, e.Message);
            return false;
        }
    }
}
