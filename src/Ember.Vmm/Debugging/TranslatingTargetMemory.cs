using Ember.Kvm;
using Ember.Memory;
using Ember.Vmm.Cpu;

namespace Ember.Vmm.Debugging;

/// <summary>The debugger's view of guest virtual memory through KVM_TRANSLATE, page by page (<see cref="VcpuLogicalMemory"/>).</summary>
internal sealed class TranslatingTargetMemory(IGuestMemory memory) : IGdbTargetMemory
{
    public bool TryRead(VirtualCpu vcpu, ulong linearAddress, Span<byte> destination) =>
        VcpuLogicalMemory.TryRead(vcpu, memory, linearAddress, destination);

    public bool TryWrite(VirtualCpu vcpu, ulong linearAddress, ReadOnlySpan<byte> source) =>
        VcpuLogicalMemory.TryWrite(vcpu, memory, linearAddress, source, evenIfReadOnly: true);
}
