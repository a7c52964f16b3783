using System.Runtime.InteropServices;

namespace Ember.Sys;

/// <summary>
/// A libc or kernel call that failed. Carries the operation (e.g. "epoll_ctl", "KVM_IOEVENTFD") and the
/// errno, so callers can react to EEXIST, EINVAL, EAGAIN etc. without parsing messages.
/// </summary>
public class SystemCallException : Exception
{
    public SystemCallException(string operation, int errno)
        : base($"{operation} failed: {(Errno)errno} ({Marshal.GetPInvokeErrorMessage(errno)})")
    {
        Operation = operation;
        Errno = (Errno)errno;
    }

    public SystemCallException(string operation, Errno errno, string message) : base(message)
    {
        Operation = operation;
        Errno = errno;
    }

    public string Operation { get; }
    public Errno Errno { get; }

    /// <summary>The exception for the errno of the last P/Invoke call.</summary>
    internal static SystemCallException FromLastError(string operation) => new(operation, Marshal.GetLastPInvokeError());
}
