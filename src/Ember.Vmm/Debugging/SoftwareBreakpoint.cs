namespace Ember.Vmm.Debugging;

/// <summary>An int3 the debugger wrote over one byte of guest code: the byte it replaced and the vCPU whose view of memory it went through.</summary>
internal readonly record struct SoftwareBreakpoint(int Vcpu, byte Original);
