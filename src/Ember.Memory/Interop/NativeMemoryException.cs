using System.Runtime.InteropServices;
using Ember.Sys;

namespace Ember.Memory.Interop;

/// <summary>A libc memory call (mmap, munmap, madvise) failed; carries the errno it set.</summary>
public sealed class NativeMemoryException(string operation, int errno) : SystemCallException(operation, errno)
{
    /// <summary>Builds the exception from the errno the last SetLastError P/Invoke saved.</summary>
    internal static new NativeMemoryException FromLastError(string operation) => new(operation, Marshal.GetLastPInvokeError());
}
