namespace Ember.Kvm;

/// <summary>A KVM_EXIT_DEBUG: the exception (1 = #DB, 3 = #BP), where it happened and the debug status registers.</summary>
public readonly record struct DebugExit(uint Exception, ulong Pc, ulong Dr6, ulong Dr7);
