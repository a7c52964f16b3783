using Ember.Memory;
using Ember.Vmm.Cpu.Paging;
using Ember.Vmm.Debugging;

namespace Ember.Vmm.Tests.Debugging;

/// <summary>
/// One vCPU's virtual memory for unit tests: fixed paging registers (hand-built tables, <see cref="Cpu.Paging.GuestPageTables"/>)
/// over array-backed RAM, walked by the same <see cref="LinearMemory"/> a machine's <see cref="VcpuMemoryView"/> uses,
/// without a vCPU thread to run on. <see cref="Failure"/>, when set, is thrown by every access (a vCPU that does not answer).
/// </summary>
internal sealed class PageTableMemory(PagingState state, IGuestMemory memory) : IVirtualMemory
{
    public Exception? Failure { get; set; }

    public int Accesses { get; private set; }

    public bool TryReadVirtual(ulong address, Span<byte> destination, PageAccess access, out int bytesRead, out PageFault fault)
    {
        Accesses++;
        if (Failure is not null)
            throw Failure;
        return LinearMemory.TryRead(state, memory, address, destination, access, out bytesRead, out fault);
    }

    public bool TryWriteVirtual(ulong address, ReadOnlySpan<byte> source, PageAccess access, out PageFault fault)
    {
        Accesses++;
        if (Failure is not null)
            throw Failure;
        return LinearMemory.TryWrite(state, memory, address, source, access, out fault);
    }
}
