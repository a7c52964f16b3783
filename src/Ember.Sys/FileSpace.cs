using System.Runtime.InteropServices;
using Ember.Sys.Interop;
using Microsoft.Win32.SafeHandles;

namespace Ember.Sys;

/// <summary>
/// The allocation of a regular file's blocks, through fallocate(2): giving a range back to the file system (a hole
/// that reads as zeroes) or zeroing it in place, both without changing the file's length. What a disk image needs
/// for a guest's discard and write-zeroes requests. A file system that cannot do one answers EOPNOTSUPP, which is
/// reported as false so the caller can fall back (to writing zeroes, say); other failures throw.
/// </summary>
public static unsafe class FileSpace
{
    /// <summary>
    /// fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE): frees the blocks of [offset, offset + length); the range
    /// reads as zeroes afterwards (partial blocks at either end are zeroed instead of freed). False when the file
    /// system cannot punch holes.
    /// </summary>
    /// <exception cref="SystemCallException">fallocate failed for another reason (EIO, EBADF, ...).</exception>
    public static bool TryPunchHole(SafeFileHandle file, long offset, long length) =>
        Allocate(file, Libc.FALLOC_FL_PUNCH_HOLE | Libc.FALLOC_FL_KEEP_SIZE, offset, length);

    /// <summary>
    /// fallocate(FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE): [offset, offset + length) reads as zeroes afterwards and
    /// stays allocated (the file system may convert it to unwritten extents). False when the file system cannot
    /// (tmpfs, for one).
    /// </summary>
    /// <exception cref="SystemCallException">fallocate failed for another reason.</exception>
    public static bool TryZeroRange(SafeFileHandle file, long offset, long length) =>
        Allocate(file, Libc.FALLOC_FL_ZERO_RANGE | Libc.FALLOC_FL_KEEP_SIZE, offset, length);

    /// <summary>Bytes the file system has allocated to the file (fstat's st_blocks × 512), which a hole reduces.</summary>
    /// <exception cref="SystemCallException">fstat failed.</exception>
    public static long AllocatedBytes(SafeFileHandle file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var buffer = stackalloc byte[Libc.StatSize];
        bool added = false;
        file.DangerousAddRef(ref added);
        try
        {
            // Safe because the buffer is the 144 bytes glibc's x86-64 struct stat takes, and the reference taken above
            // keeps the descriptor open for the call.
            if (Libc.FStat((int)file.DangerousGetHandle(), buffer) != 0)
                throw SystemCallException.FromLastError("fstat");
            return *(long*)(buffer + Libc.StatBlocksOffset) * 512;
        }
        finally
        {
            if (added)
                file.DangerousRelease();
        }
    }

    private static bool Allocate(SafeFileHandle file, int mode, long offset, long length)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        bool added = false;
        file.DangerousAddRef(ref added);
        try
        {
            while (true)
            {
                // Safe because the reference taken above keeps the descriptor open; fallocate touches no user memory.
                if (Libc.Fallocate((int)file.DangerousGetHandle(), mode, offset, length) == 0)
                    return true;
                int errno = Marshal.GetLastPInvokeError();
                switch ((Errno)errno)
                {
                    case Errno.EINTR:
                        continue;
                    case Errno.EOPNOTSUPP or Errno.ENOSYS:
                        return false;
                    default:
                        throw new SystemCallException("fallocate", errno);
                }
            }
        }
        finally
        {
            if (added)
                file.DangerousRelease();
        }
    }
}
