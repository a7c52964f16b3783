using Ember.Kvm;

namespace Ember.Vmm.Debugging;

/// <summary>What a vCPU thread tells the debugger, from its exit loop (on its own thread, out of KVM_RUN).</summary>
internal interface IVcpuDebugHook
{
    /// <summary>KVM_EXIT_DEBUG: a step, breakpoint or watchpoint the debugger set. The debugger holds the vCPUs if it means a stop.</summary>
    void OnDebugExit(VirtualCpu vcpu, DebugExit exit);

    /// <summary>An emulation failure: true if it was at an int3 the debugger planted (then it is a breakpoint hit, not a failure).</summary>
    bool OnEmulationFailure(VirtualCpu vcpu);
}
