using Ember.Vmm.Cpu.Paging;

namespace Ember.Vmm.Debugging;

/// <summary>A read or write at a guest linear address that the vCPU's page tables do not allow; <see cref="Fault"/> says where and why.</summary>
public sealed class VirtualMemoryException(PageFault fault) : Exception(fault.ToString())
{
    public PageFault Fault { get; } = fault;
}
