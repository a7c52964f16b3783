using System.Runtime.InteropServices;
using Ember.Sys;

namespace Ember.Kvm;

/// <summary>
/// A KVM ioctl that failed. Carries the operation (e.g. "KVM_IOEVENTFD") and the errno, so callers can
/// react to EEXIST, EINVAL, ENXIO, EFAULT etc. without parsing messages.
/// </summary>
public class KvmException : SystemCallException
{
    public KvmException(string operation, int errno) : base(operation, errno)
    {
    }

    public KvmException(string operation, Errno errno, string message) : base(operation, errno, message)
    {
    }

    /// <summary>The exception for the errno of the last P/Invoke call.</summary>
    internal static new KvmException FromLastError(string operation) => new(operation, Marshal.GetLastPInvokeError());
}
