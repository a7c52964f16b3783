using System.Runtime.InteropServices;

namespace Ember.Memory.Interop;

/// <summary>
/// The libc memory-mapping calls Ember.Memory needs, declared once. Return values follow
/// POSIX: mmap returns MAP_FAILED ((void*)-1) and the others -1 on error, with errno saved
/// for <see cref="Marshal.GetLastPInvokeError"/> because of SetLastError.
/// </summary>
internal static partial class LibC
{
    private const string Library = "libc";

    /// <summary>mmap(2)'s error return, (void *) -1.</summary>
    internal static readonly nint MapFailed = -1;

    /// <summary>The fd passed with MAP_ANONYMOUS; mmap(2) says portable code must use -1.</summary>
    internal const int NoFileDescriptor = -1;

    [LibraryImport(Library, EntryPoint = "mmap", SetLastError = true)]
    internal static partial nint Mmap(nint address, nuint length, MemoryProtection protection, MappingFlags flags, int fd, long offset);

    [LibraryImport(Library, EntryPoint = "munmap", SetLastError = true)]
    internal static partial int Munmap(nint address, nuint length);

    [LibraryImport(Library, EntryPoint = "madvise", SetLastError = true)]
    internal static partial int Madvise(nint address, nuint length, MemoryAdvice advice);
}
