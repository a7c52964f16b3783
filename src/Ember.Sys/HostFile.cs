using System.Runtime.InteropServices;
using Ember.Sys.Interop;

namespace Ember.Sys;

/// <summary>
/// What a path names, found with stat(2) before anything opens it: opening a FIFO for reading blocks
/// until a writer appears, and reading /dev/zero never ends, so a file given by a user is checked first.
/// </summary>
public static unsafe class HostFile
{
    private const uint TypeMask = 0xF000;

    /// <summary>The kind of file at <paramref name="path"/> (symbolic links followed) and its size in bytes.</summary>
    public static (HostFileKind Kind, long Size) Inspect(string path)
    {
        var buffer = stackalloc byte[Libc.StatSize];
        if (Libc.Stat(path, buffer) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            return ((Errno)errno switch
            {
                Errno.ENOENT => HostFileKind.Missing,
                Errno.EACCES or Errno.EPERM => HostFileKind.NoPermission,
                _ => HostFileKind.Unreadable,
            }, 0);
        }
        uint mode = *(uint*)(buffer + Libc.StatModeOffset);
        long size = *(long*)(buffer + Libc.StatSizeOffset);
        var kind = (mode & TypeMask) switch
        {
            0x8000 => HostFileKind.Regular,
            0x4000 => HostFileKind.Directory,
            0x1000 => HostFileKind.Fifo,
            0x2000 or 0x6000 => HostFileKind.Device,
            0xC000 => HostFileKind.Socket,
            _ => HostFileKind.Other,
        };
        return (kind, size);
    }
}
