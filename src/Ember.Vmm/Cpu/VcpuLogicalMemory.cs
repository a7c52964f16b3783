using Ember.Kvm;
using Ember.Memory;

namespace Ember.Vmm.Cpu;

/// <summary>
/// Reads and writes a vCPU's logical (virtual) memory: each page is translated through the vCPU's
/// current page tables with KVM_TRANSLATE, then accessed in guest physical memory. Used for
/// diagnostics (the instruction bytes at a failing RIP) and by debuggers. Never touches anything
/// outside guest RAM; an unmapped page, a read-only page (for writes) or a hole fails the whole access.
/// </summary>
public static class VcpuLogicalMemory
{
    private const ulong PageSize = 0x1000;

    /// <summary>One piece of a logical access that lies within a single guest page.</summary>
    private readonly record struct PageSpan(GuestAddress Physical, int Offset, int Length);

    /// <summary>Reads <paramref name="destination"/>.Length bytes at <paramref name="linearAddress"/>; false if any page is unmapped or not RAM.</summary>
    public static bool TryRead(VirtualCpu vcpu, IGuestMemory memory, ulong linearAddress, Span<byte> destination)
    {
        if (!TryTranslate(vcpu, memory, linearAddress, destination.Length, write: false, out var pages))
            return false;
        foreach (var page in pages)
        {
            if (!memory.TryRead(page.Physical, destination.Slice(page.Offset, page.Length)))
                return false;
        }
        return true;
    }

    /// <summary>
    /// Writes <paramref name="source"/> at <paramref name="linearAddress"/>; false, with nothing written, if any page is
    /// unmapped, read-only or not RAM. A debugger passes <paramref name="evenIfReadOnly"/> to patch code in read-only pages.
    /// </summary>
    public static bool TryWrite(VirtualCpu vcpu, IGuestMemory memory, ulong linearAddress, ReadOnlySpan<byte> source, bool evenIfReadOnly = false)
    {
        // Every page is translated and checked before the first byte is written, so a failure never leaves a partial write.
        if (!TryTranslate(vcpu, memory, linearAddress, source.Length, write: !evenIfReadOnly, out var pages))
            return false;
        foreach (var page in pages)
        {
            if (!memory.TryWrite(page.Physical, source.Slice(page.Offset, page.Length)))
                return false;
        }
        return true;
    }

    private static bool TryTranslate(VirtualCpu vcpu, IGuestMemory memory, ulong linearAddress, int length, bool write, out List<PageSpan> pages)
    {
        pages = [];
        int done = 0;
        while (done < length)
        {
            ulong linear = linearAddress + (ulong)done;
            if (linear < linearAddress)
                return false;  // wrapped around the address space
            var translation = vcpu.Translate(linear);
            if (!translation.IsValid || (write && translation.Writeable == 0))
                return false;
            int chunk = (int)Math.Min((ulong)(length - done), PageSize - (linear & (PageSize - 1)));
            var physical = new GuestAddress(translation.PhysicalAddress);
            if (!memory.IsValidRange(physical, (ulong)chunk))
                return false;
            pages.Add(new PageSpan(physical, done, chunk));
            done += chunk;
        }
        return true;
    }
}
