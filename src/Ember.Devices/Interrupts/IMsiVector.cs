namespace Ember.Devices.Interrupts;

/// <summary>A message-signalled interrupt that a device fires; the VMM decides whether that is an irqfd or KVM_SIGNAL_MSI.</summary>
public interface IMsiVector
{
    void Signal();
}
