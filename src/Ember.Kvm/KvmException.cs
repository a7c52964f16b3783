using System.Runtime.InteropServices;

namespace Ember.Kvm;

/// <summary>
/// A KVM or libc call that failed. Carries the operation (e.g. "KVM_IOEVENTFD") and the errno,
/// so callers can react to EEXIST, EINVAL, ENXIO, EFAULT etc. without parsing messages.
/// </summary>
public class KvmException : Exception
{
    public KvmException(string operation, int errno)
        : base($"{operation} failed: {(Errno)errno} ({Marshal.GetPInvokeErrorMessage(errno)})")
    {
        Operation = operation;
        Errno = (Errno)errno;
    }

    public KvmException(string operation, Errno errno, string message) : base(message)
    {
        Operation = operation;
        Errno = errno;
    }

    public string Operation { get; }
    public Errno Errno { get; }

    /// <summary>Throws for the errno of the last P/Invoke call.</summary>
    internal static KvmException FromLastError(string operation) => new(operation, Marshal.GetLastPInvokeError());
}
