using Ember.Sys;
namespace Ember.Kvm;

/// <summary>KVM_INTERRUPT refused the vector; <see cref="Result"/> says which documented error it was.</summary>
public sealed class InterruptInjectionException : KvmException
{
    public InterruptInjectionException(uint vector, InterruptInjectionResult result, Errno errno)
        : base("KVM_INTERRUPT", errno, $"KVM_INTERRUPT of vector {vector} failed: {result} ({errno})")
    {
        Vector = vector;
        Result = result;
    }

    public uint Vector { get; }
    public InterruptInjectionResult Result { get; }
}
