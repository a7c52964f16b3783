using System.Runtime.InteropServices;

namespace Ember.Memory.Interop;

/// <summary>A libc memory call (mmap, munmap, madvise) failed; carries the errno it set.</summary>
public sealed class NativeMemoryException(string operation, int errno)
    : Exception($"{operation} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})")
{
    /// <summary>The libc call that failed, e.g. "mmap".</summary>
    public string Operation { get; } = operation;

    /// <summary>The errno value, e.g. 12 (ENOMEM) or 13 (EACCES).</summary>
    public int Errno { get; } = errno;

    /// <summary>Builds the exception from the errno the last SetLastError P/Invoke saved.</summary>
    internal static NativeMemoryException FromLastError(string operation) => new(operation, Marshal.GetLastPInvokeError());
}
