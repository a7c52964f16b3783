using System.Runtime.InteropServices;
using Ember.Sys.Interop;
using Microsoft.Win32.SafeHandles;

namespace Ember.Sys;

/// <summary>
/// Getting a file's written data onto stable storage with fdatasync(2): the data and whatever metadata reading it back
/// needs (its size, its block map), without the timestamps fsync would also write. What a disk image's flush needs;
/// RandomAccess.FlushToDisk is the heavier fsync.
/// </summary>
public static class FileSync
{
    /// <summary>fdatasync, retried on EINTR.</summary>
    /// <exception cref="SystemCallException">fdatasync failed: EIO when the kernel lost a write-back, EINVAL for a file that cannot be synced.</exception>
    public static void SyncData(SafeFileHandle file)
    {
        ArgumentNullException.ThrowIfNull(file);
        bool added = false;
        file.DangerousAddRef(ref added);
        try
        {
            // Safe because the reference taken above keeps the descriptor open for the call; fdatasync touches no user memory.
            while (Libc.FDataSync((int)file.DangerousGetHandle()) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if ((Errno)errno != Errno.EINTR)
                    throw new SystemCallException("fdatasync", errno);
            }
        }
        finally
        {
            if (added)
                file.DangerousRelease();
        }
    }
}
