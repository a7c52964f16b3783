using System.Runtime.InteropServices;

namespace Ember.Kvm.Interop;

/// <summary>
/// The 8-byte header shared by KVM's variable-length arrays: kvm_cpuid2 (nent, padding),
/// kvm_msrs (nmsrs, pad) and kvm_irq_routing (nr, flags). The entries follow immediately.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VariableArrayHeader
{
    public uint Count;
    public uint FlagsOrPadding;
}
