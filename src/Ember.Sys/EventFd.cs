using Ember.Sys.Interop;

namespace Ember.Sys;

/// <summary>
/// A Linux eventfd: a 64-bit counter that KVM signals (ioeventfd) or waits on (irqfd).
/// Non-blocking by default so that draining it from an epoll loop never stalls.
/// </summary>
public sealed unsafe class EventFd : IDisposable
{
    public EventFd(bool nonBlocking = true, bool semaphore = false)
    {
        int flags = Libc.EFD_CLOEXEC | (nonBlocking ? Libc.EFD_NONBLOCK : 0) | (semaphore ? Libc.EFD_SEMAPHORE : 0);
        Handle = FileDescriptorHandle.FromResult(Libc.EventFd(0, flags), "eventfd");
    }

    public FileDescriptorHandle Handle { get; }

    /// <summary>Adds <paramref name="value"/> to the counter, waking any waiter (KVM's irqfd injects).</summary>
    public void Signal(ulong value = 1)
    {
        bool added = false;
        Handle.DangerousAddRef(ref added);
        try
        {
            // Safe because the buffer is a local of exactly the 8 bytes eventfd expects.
            if (Libc.Write(Handle.Fd, &value, sizeof(ulong)) != sizeof(ulong))
                throw SystemCallException.FromLastError("eventfd write");
        }
        finally
        {
            if (added) Handle.DangerousRelease();
        }
    }

    /// <summary>Reads and resets the counter; returns 0 when it was zero (non-blocking mode).</summary>
    public ulong Drain()
    {
        bool added = false;
        Handle.DangerousAddRef(ref added);
        try
        {
            ulong value = 0;
            // Safe because the buffer is a local of exactly the 8 bytes eventfd produces.
            if (Libc.Read(Handle.Fd, &value, sizeof(ulong)) == sizeof(ulong))
                return value;
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            return errno == (int)Errno.EAGAIN ? 0UL : throw new SystemCallException("eventfd read", errno);
        }
        finally
        {
            if (added) Handle.DangerousRelease();
        }
    }

    public void Dispose() => Handle.Dispose();
}
