using Ember.Kvm;

namespace Ember.Vmm.Debugging;

/// <summary>
/// Guest virtual memory as one vCPU sees it, for the debugger: its current page tables decide what an address
/// means. Called on that vCPU's own thread while it is out of KVM_RUN (the KVM_TRANSLATE implementation needs
/// that; a software page walker needs only its control registers and guest memory and can slot in here).
/// </summary>
internal interface IGdbTargetMemory
{
    /// <summary>Fills <paramref name="destination"/> from <paramref name="linearAddress"/>; false if any page is unmapped or not RAM.</summary>
    bool TryRead(VirtualCpu vcpu, ulong linearAddress, Span<byte> destination);

    /// <summary>
    /// Writes <paramref name="source"/> at <paramref name="linearAddress"/>, read-only pages included (a breakpoint goes into
    /// code); false, with nothing written, if any page is unmapped or not RAM.
    /// </summary>
    bool TryWrite(VirtualCpu vcpu, ulong linearAddress, ReadOnlySpan<byte> source);
}
