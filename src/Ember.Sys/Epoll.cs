using System.Runtime.InteropServices;
using Ember.Sys.Interop;

namespace Ember.Sys;

/// <summary>
/// An epoll instance: the event loop primitive for device backends and ioeventfds. Callers
/// register fds with a token and get tokens back; no fd numbers leak into device code.
/// </summary>
public sealed unsafe class Epoll : IDisposable
{
    public Epoll() => Handle = FileDescriptorHandle.FromResult(Libc.EpollCreate1(Libc.EPOLL_CLOEXEC), "epoll_create1");

    public FileDescriptorHandle Handle { get; }

    public void Add(SafeHandle fd, EpollEvents events, ulong token) => Control(Libc.EPOLL_CTL_ADD, fd, events, token);

    public void Modify(SafeHandle fd, EpollEvents events, ulong token) => Control(Libc.EPOLL_CTL_MOD, fd, events, token);

    public void Remove(SafeHandle fd) => Control(Libc.EPOLL_CTL_DEL, fd, EpollEvents.None, 0);

    private void Control(int op, SafeHandle fd, EpollEvents events, ulong token)
    {
        var ev = new Libc.EpollEvent { Events = (uint)events, Data = token };
        bool addedEpoll = false, addedFd = false;
        Handle.DangerousAddRef(ref addedEpoll);
        fd.DangerousAddRef(ref addedFd);
        try
        {
            // Safe because ev is a local that outlives the call.
            if (Libc.EpollCtl(Handle.Fd, op, (int)fd.DangerousGetHandle(), &ev) != 0)
                throw SystemCallException.FromLastError("epoll_ctl");
        }
        finally
        {
            if (addedFd) fd.DangerousRelease();
            if (addedEpoll) Handle.DangerousRelease();
        }
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> (−1 forever) and fills <paramref name="ready"/>;
    /// returns how many were filled, 0 on timeout or on EINTR.
    /// </summary>
    public int Wait(Span<ReadyEvent> ready, int timeoutMs)
    {
        int max = Math.Min(ready.Length, 64);
        var raw = stackalloc Libc.EpollEvent[max];
        bool added = false;
        Handle.DangerousAddRef(ref added);
        try
        {
            int n = Libc.EpollWait(Handle.Fd, raw, max, timeoutMs);
            if (n < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                return errno == (int)Errno.EINTR ? 0 : throw new SystemCallException("epoll_wait", errno);
            }
            for (int i = 0; i < n; i++)
                ready[i] = new ReadyEvent(raw[i].Data, (EpollEvents)raw[i].Events);
            return n;
        }
        finally
        {
            if (added) Handle.DangerousRelease();
        }
    }

    public void Dispose() => Handle.Dispose();
}
