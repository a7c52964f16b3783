using Ember.Kvm;

namespace Ember.Vmm.Interrupts;

/// <summary>Hands a complete GSI routing table to KVM (<see cref="VirtualMachine.SetGsiRouting"/>), or to a test.</summary>
internal delegate void GsiRoutingSubmitter(ReadOnlySpan<GsiRoutingEntry> table);
