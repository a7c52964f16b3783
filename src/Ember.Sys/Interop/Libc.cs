using System.Runtime.InteropServices;

namespace Ember.Sys.Interop;

/// <summary>
/// Every libc entry point Ember uses (KVM, guest memory, eventfd/epoll/timerfd, signals, TAP, Unix sockets), in one place so
/// signatures are never copied around.
/// Every import sets the last error so callers can turn errno into a typed exception.
/// ioctl is variadic in C; on x86-64 SysV a non-variadic call with integer/pointer arguments
/// is ABI-compatible for glibc's wrapper, which only forwards the third argument to the syscall.
/// </summary>
internal static unsafe partial class Libc
{
    private const string LibraryName = "libc";

    public const int O_RDWR = 0x2;
    public const int O_CLOEXEC = 0x80000;

    public const int EFD_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;
    public const int EFD_SEMAPHORE = 0x1;

    public const int EPOLL_CLOEXEC = 0x80000;
    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const int EPOLL_CTL_MOD = 3;

    [LibraryImport(LibraryName, EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Open(string path, int flags);

    [LibraryImport(LibraryName, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(LibraryName, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, nint argument);

    [LibraryImport(LibraryName, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, void* argument);

    [LibraryImport(LibraryName, EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initialValue, int flags);

    [LibraryImport(LibraryName, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, void* buffer, nuint count);

    [LibraryImport(LibraryName, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, void* buffer, nuint count);

    [LibraryImport(LibraryName, EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int EpollCreate1(int flags);

    [LibraryImport(LibraryName, EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int EpollCtl(int epfd, int op, int fd, EpollEvent* ev);

    [LibraryImport(LibraryName, EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int EpollWait(int epfd, EpollEvent* events, int maxEvents, int timeoutMs);

    /// <summary>mmap(2)'s error return, (void *) -1.</summary>
    public static readonly nint MapFailed = -1;

    /// <summary>The fd passed with MAP_ANONYMOUS; mmap(2) says portable code must use -1.</summary>
    public const int NoFileDescriptor = -1;

    [LibraryImport(LibraryName, EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport(LibraryName, EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(nint address, nuint length);

    [LibraryImport(LibraryName, EntryPoint = "madvise", SetLastError = true)]
    public static partial int Madvise(nint address, nuint length, int advice);

    public const int CLOCK_MONOTONIC = 1;
    public const int TFD_CLOEXEC = 0x80000;
    public const int TFD_NONBLOCK = 0x800;

    [LibraryImport(LibraryName, EntryPoint = "timerfd_create", SetLastError = true)]
    public static partial int TimerFdCreate(int clockId, int flags);

    [LibraryImport(LibraryName, EntryPoint = "timerfd_settime", SetLastError = true)]
    public static partial int TimerFdSetTime(int fd, int flags, ITimerSpec* newValue, ITimerSpec* oldValue);

    /// <summary><c>struct itimerspec</c>: the period, then the first expiry (relative unless TFD_TIMER_ABSTIME).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ITimerSpec
    {
        public TimeSpec Interval;
        public TimeSpec Value;
    }

    public const int F_GETFD = 1;
    public const int O_RDONLY = 0;
    public const int O_NONBLOCK = 0x800;
    public const int TCSANOW = 0;

    [LibraryImport(LibraryName, EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int command);

    [LibraryImport(LibraryName, EntryPoint = "dup2", SetLastError = true)]
    public static partial int Dup2(int oldFd, int newFd);

    [LibraryImport(LibraryName, EntryPoint = "isatty")]
    public static partial int IsATty(int fd);

    /// <summary>struct termios is 60 bytes on x86-64 glibc; it is only ever handled whole, as opaque bytes.</summary>
    public const int TermiosSize = 60;

    [LibraryImport(LibraryName, EntryPoint = "tcgetattr", SetLastError = true)]
    public static partial int TcGetAttr(int fd, byte* termios);

    [LibraryImport(LibraryName, EntryPoint = "tcsetattr", SetLastError = true)]
    public static partial int TcSetAttr(int fd, int when, byte* termios);

    [LibraryImport(LibraryName, EntryPoint = "cfmakeraw")]
    public static partial void CfMakeRaw(byte* termios);

    /// <summary>
    /// glibc's x86-64 <c>struct stat</c> is 144 bytes; Ember reads st_dev (offset 0), st_ino (8), st_mode (24) and st_size (48).
    /// </summary>
    public const int StatSize = 144;
    public const int StatDeviceOffset = 0;
    public const int StatInodeOffset = 8;
    public const int StatModeOffset = 24;
    public const int StatSizeOffset = 48;

    [LibraryImport(LibraryName, EntryPoint = "stat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Stat(string path, byte* buffer);

    /// <summary>st_blocks: 512-byte units allocated to the file, whatever the file system's block size.</summary>
    public const int StatBlocksOffset = 64;

    /// <summary>fstat(2), into the same 144-byte buffer as <see cref="Stat"/> (glibc exports it since 2.33).</summary>
    [LibraryImport(LibraryName, EntryPoint = "fstat", SetLastError = true)]
    public static partial int FStat(int fd, byte* buffer);

    public const int FALLOC_FL_KEEP_SIZE = 0x01;
    public const int FALLOC_FL_PUNCH_HOLE = 0x02;
    public const int FALLOC_FL_ZERO_RANGE = 0x10;

    /// <summary>fallocate(2); off_t is 64-bit on x86-64.</summary>
    [LibraryImport(LibraryName, EntryPoint = "fallocate", SetLastError = true)]
    public static partial int Fallocate(int fd, int mode, long offset, long length);

    /// <summary>fdatasync(2).</summary>
    [LibraryImport(LibraryName, EntryPoint = "fdatasync", SetLastError = true)]
    public static partial int FDataSync(int fd);

    [LibraryImport(LibraryName, EntryPoint = "pthread_self")]
    public static partial nuint PthreadSelf();

    [LibraryImport(LibraryName, EntryPoint = "pthread_kill")]
    public static partial int PthreadKill(nuint thread, int signal);

    [LibraryImport(LibraryName, EntryPoint = "sigaction", SetLastError = true)]
    public static partial int SigAction(int signal, SigActionStruct* action, SigActionStruct* oldAction);

    public const int SIG_BLOCK = 0;
    public const int SIG_UNBLOCK = 1;

    /// <summary>glibc's sigset_t is 1024 bits; the kernel's (what KVM_SET_SIGNAL_MASK takes) is 64 on x86-64.</summary>
    public const int KernelSigsetBytes = 8;

    [LibraryImport(LibraryName, EntryPoint = "pthread_sigmask")]
    public static partial int PthreadSigmask(int how, ulong* set, ulong* oldSet);

    [LibraryImport(LibraryName, EntryPoint = "sigtimedwait", SetLastError = true)]
    public static partial int SigTimedWait(ulong* set, void* info, TimeSpec* timeout);

    [StructLayout(LayoutKind.Sequential)]
    public struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport(LibraryName, EntryPoint = "__libc_current_sigrtmin")]
    public static partial int CurrentSigRtMin();

    /// <summary>glibc's x86-64 <c>struct sigaction</c>: handler, 1024-bit mask, flags, restorer.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SigActionStruct
    {
        public nint Handler;
        public fixed ulong Mask[16];
        public int Flags;
        public nint Restorer;
    }

    [LibraryImport(LibraryName, EntryPoint = "writev", SetLastError = true)]
    public static partial nint Writev(int fd, IoVec* vectors, int count);

    /// <summary>The most segments one readv/writev takes (IOV_MAX in limits.h).</summary>
    public const int IovMax = 1024;

    /// <summary><c>struct iovec</c>: one segment of a scatter-gather transfer.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    /// <summary>The index of the network interface <paramref name="name"/> in the caller's network namespace, or 0 when there is none.</summary>
    [LibraryImport(LibraryName, EntryPoint = "if_nametoindex", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial uint IfNameToIndex(string name);

    public const int AF_UNIX = 1;
    public const int SOCK_STREAM = 1;
    public const int SOCK_NONBLOCK = 0x800;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int MSG_NOSIGNAL = 0x4000;
    public const int SHUT_RD = 0;
    public const int SHUT_WR = 1;
    public const int SHUT_RDWR = 2;

    [LibraryImport(LibraryName, EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport(LibraryName, EntryPoint = "bind", SetLastError = true)]
    public static partial int Bind(int fd, SockAddrUn* address, uint addressLength);

    [LibraryImport(LibraryName, EntryPoint = "listen", SetLastError = true)]
    public static partial int Listen(int fd, int backlog);

    [LibraryImport(LibraryName, EntryPoint = "accept4", SetLastError = true)]
    public static partial int Accept4(int fd, void* address, void* addressLength, int flags);

    [LibraryImport(LibraryName, EntryPoint = "connect", SetLastError = true)]
    public static partial int Connect(int fd, SockAddrUn* address, uint addressLength);

    [LibraryImport(LibraryName, EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(int fd, void* buffer, nuint length, int flags);

    [LibraryImport(LibraryName, EntryPoint = "recv", SetLastError = true)]
    public static partial nint Recv(int fd, void* buffer, nuint length, int flags);

    [LibraryImport(LibraryName, EntryPoint = "shutdown", SetLastError = true)]
    public static partial int Shutdown(int fd, int how);

    [LibraryImport(LibraryName, EntryPoint = "unlink", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Unlink(string path);

    /// <summary>stat(2) without following a final symbolic link; the same 144-byte buffer as <see cref="Stat"/>.</summary>
    [LibraryImport(LibraryName, EntryPoint = "lstat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int LStat(string path, byte* buffer);

    /// <summary>sun_path holds 108 bytes including the terminating NUL (sys/un.h).</summary>
    public const int SunPathBytes = 108;

    /// <summary><c>struct sockaddr_un</c>: the family, then a NUL-terminated path; 110 bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SockAddrUn
    {
        public ushort Family;
        public fixed byte Path[SunPathBytes];
    }

    /// <summary>x86-64 <c>struct epoll_event</c> is packed: 4-byte events then 8-byte data, 12 bytes.</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }
}
