using Ember.Kvm;

namespace Ember.Vmm.Host;

/// <summary>One capability Ember uses: what KVM_CHECK_EXTENSION said and what Ember needs it for.</summary>
public sealed record CapabilityStatus(KvmCapability Capability, int Value, bool Required, string UsedFor)
{
    public bool Present => Value > 0;
}
