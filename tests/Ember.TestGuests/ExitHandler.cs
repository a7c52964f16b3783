using Ember.Kvm;

namespace Ember.TestGuests;

/// <summary>Handles one exit of a test guest; returns false to stop running.</summary>
public delegate bool ExitHandler(VirtualCpu vcpu, VcpuExit exit);
