namespace Ember.Memory.Interop;

/// <summary>
/// The <c>prot</c> argument of mmap(2): which accesses the mapping allows. Values are the
/// Linux PROT_* constants from include/uapi/asm-generic/mman-common.h.
/// </summary>
[Flags]
public enum MemoryProtection
{
    /// <summary>PROT_NONE: no access at all (a guard range).</summary>
    None = 0x0,

    /// <summary>PROT_READ.</summary>
    Read = 0x1,

    /// <summary>PROT_WRITE.</summary>
    Write = 0x2,

    /// <summary>PROT_EXEC.</summary>
    Execute = 0x4,

    /// <summary>PROT_READ | PROT_WRITE, what guest RAM and kvm_run need.</summary>
    ReadWrite = Read | Write,
}
