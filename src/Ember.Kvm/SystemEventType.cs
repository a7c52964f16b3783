namespace Ember.Kvm;

/// <summary>KVM_SYSTEM_EVENT_* types carried by a system-event exit.</summary>
public enum SystemEventType : uint
{
    Shutdown = 1,
    Reset = 2,
    Crash = 3,
    Wakeup = 4,
    Suspend = 5,
    Sev = 6,
}
