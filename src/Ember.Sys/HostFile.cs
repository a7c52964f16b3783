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
            RegularType => HostFileKind.Regular,
            DirectoryType => HostFileKind.Directory,
            0x1000 => HostFileKind.Fifo,
            0x2000 or 0x6000 => HostFileKind.Device,
            SocketType => HostFileKind.Socket,
            _ => HostFileKind.Other,
        };
        return (kind, size);
    }

    /// <summary>
    /// lstat(2): the file type bits of <paramref name="path"/> itself (a symbolic link is not followed) and its identity
    /// (device and inode), or the errno when there is nothing to stat.
    /// </summary>
    internal static Errno? IdentifyLink(string path, out uint fileType, out (ulong Device, ulong Inode) identity)
    {
        var buffer = stackalloc byte[Libc.StatSize];
        fileType = 0;
        identity = default;
        if (Libc.LStat(path, buffer) != 0)
            return (Errno)Marshal.GetLastPInvokeError();
        fileType = *(uint*)(buffer + Libc.StatModeOffset) & TypeMask;
        identity = (*(ulong*)(buffer + Libc.StatDeviceOffset), *(ulong*)(buffer + Libc.StatInodeOffset));
        return null;
    }

    internal const uint SocketType = 0xC000;
    internal const uint SymbolicLinkType = 0xA000;
    internal const uint RegularType = 0x8000;
    internal const uint DirectoryType = 0x4000;
}
