using Ember.Vmm.Cpu.Paging;

namespace Ember.Vmm.Debugging;

/// <summary>
/// Guest memory at linear addresses as one vCPU's page tables map it, walked by <see cref="PageWalker"/>
/// (<see cref="VcpuMemoryView"/> on a machine). The debugger's memory (<see cref="GdbTargetMemory"/>) takes it as an
/// interface so its breakpoint bookkeeping can be tested over hand-built page tables without a vCPU.
/// </summary>
internal interface IVirtualMemory
{
    /// <summary>Reads page by page; on a fault the bytes before it are in <paramref name="destination"/> (<paramref name="bytesRead"/>).</summary>
    bool TryReadVirtual(ulong address, Span<byte> destination, PageAccess access, out int bytesRead, out PageFault fault);

    /// <summary>All or nothing: every page is translated and checked before the first byte is written.</summary>
    bool TryWriteVirtual(ulong address, ReadOnlySpan<byte> source, PageAccess access, out PageFault fault);
}
