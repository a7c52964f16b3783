namespace Ember.Memory.Interop;

/// <summary>
/// The <c>flags</c> argument of mmap(2). Values are the Linux x86-64 MAP_* constants from
/// include/uapi/linux/mman.h and include/uapi/asm-generic/mman(-common).h. MAP_FIXED is
/// deliberately absent: mapping over an address chosen by the caller can silently replace
/// live host mappings, and nothing in Ember needs it.
/// </summary>
[Flags]
public enum MappingFlags
{
    None = 0x0,

    /// <summary>MAP_SHARED: writes reach the file / device (e.g. a vCPU fd's kvm_run page).</summary>
    Shared = 0x01,

    /// <summary>MAP_PRIVATE: copy-on-write, writes stay in this process (guest RAM).</summary>
    Private = 0x02,

    /// <summary>MAP_ANONYMOUS: not backed by a file; pages start zero-filled.</summary>
    Anonymous = 0x20,

    /// <summary>
    /// MAP_NORESERVE: do not reserve swap / commit charge up front, so a large guest RAM size
    /// costs only the pages the guest actually touches (subject to vm.overcommit_memory).
    /// </summary>
    NoReserve = 0x4000,

    /// <summary>MAP_POPULATE: prefault the pages now instead of on first touch.</summary>
    Populate = 0x8000,
}
