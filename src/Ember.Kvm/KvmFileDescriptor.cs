using System.Runtime.InteropServices;
using Ember.Kvm.Interop;
using Ember.Sys.Interop;
using Ember.Sys;

namespace Ember.Kvm;

/// <summary>
/// What the three KVM fd kinds share: an owned descriptor and checked ioctl calls that turn
/// errno into <see cref="KvmException"/>. The fd number is cached because KVM_RUN is hot;
/// the handle is ref-counted for the object's whole life so the number stays valid until Dispose.
/// </summary>
public abstract unsafe class KvmFileDescriptor : IDisposable
{
    private readonly bool _addedRef;
    private int _disposed;

    private protected KvmFileDescriptor(FileDescriptorHandle handle)
    {
        Handle = handle;
        handle.DangerousAddRef(ref _addedRef);
        Fd = handle.Fd;
    }

    public FileDescriptorHandle Handle { get; }

    private protected int Fd { get; }

    private protected int IoctlValue(nuint request, nint argument, string name)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        int result = Libc.Ioctl(Fd, request, argument);
        return result >= 0 ? result : throw KvmException.FromLastError(name);
    }

    private protected int IoctlPointer(nuint request, void* argument, string name)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        int result = Libc.Ioctl(Fd, request, argument);
        return result >= 0 ? result : throw KvmException.FromLastError(name);
    }

    private protected int IoctlRef<T>(nuint request, ref T argument, string name) where T : unmanaged
    {
        // Safe because argument is pinned by fixed for the duration of the call and T is unmanaged.
        fixed (T* p = &argument)
            return IoctlPointer(request, p, name);
    }

    /// <summary>Returns the raw result or the negated errno, for ioctls whose errors are expected outcomes.</summary>
    private protected int IoctlPointerNoThrow(nuint request, void* argument)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        int result = Libc.Ioctl(Fd, request, argument);
        return result >= 0 ? result : -Marshal.GetLastPInvokeError();
    }

    protected virtual void Dispose(bool disposing)
    {
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        Dispose(true);
        if (_addedRef)
            Handle.DangerousRelease();
        Handle.Dispose();
        GC.SuppressFinalize(this);
    }
}
