using System.Runtime.InteropServices;
using Ember.Sys.Interop;

namespace Ember.Sys;

/// <summary>A Unix file descriptor owned by Ember, closed exactly once when released.</summary>
public sealed class FileDescriptorHandle : SafeHandle
{
    public FileDescriptorHandle(int fd) : base(invalidHandleValue: -1, ownsHandle: true) => SetHandle(fd);

    public override bool IsInvalid => handle < 0;

    /// <summary>The descriptor number. Only valid while the handle is alive (not disposed).</summary>
    public int Fd => (int)handle;

    protected override bool ReleaseHandle() => Libc.Close((int)handle) == 0;

    internal static FileDescriptorHandle FromResult(int fd, string operation) =>
        fd >= 0 ? new FileDescriptorHandle(fd) : throw SystemCallException.FromLastError(operation);
}
