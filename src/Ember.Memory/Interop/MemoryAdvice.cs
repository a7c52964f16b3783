namespace Ember.Memory.Interop;

/// <summary>
/// The <c>advice</c> argument of madvise(2), limited to what a VMM does with guest RAM.
/// Values are the Linux MADV_* constants from include/uapi/asm-generic/mman-common.h.
/// </summary>
public enum MemoryAdvice
{
    /// <summary>MADV_DONTNEED: drop the pages; a private anonymous mapping reads back as zeros.</summary>
    DontNeed = 4,

    /// <summary>MADV_DONTFORK: a forked child does not inherit the range (guest RAM stays out of helpers).</summary>
    DontFork = 10,

    /// <summary>MADV_HUGEPAGE: allow transparent huge pages, fewer EPT/TLB misses for guest RAM.</summary>
    HugePage = 14,

    /// <summary>MADV_DONTDUMP: keep guest RAM out of the VMM's core dumps.</summary>
    DontDump = 16,
}
