using Ember.Sys;

namespace Ember.Devices.Interrupts;

/// <summary>
/// The message-signalled interrupt vectors of one device (its MSI-X table, or its MSI capability). The
/// device writes what the guest programmed (<see cref="Update"/>) and fires vectors (<see cref="Trigger"/>);
/// how a vector reaches the guest is the interrupt controller's business: an irqfd on an MSI route with an
/// in-kernel LAPIC, or the device's INTx line through the user-space 8259A where there is no LAPIC.
/// I/O threads that must not call into the VMM signal <see cref="Notifier"/> instead of calling Trigger.
/// </summary>
public interface IMsiVectorGroup : IDisposable
{
    /// <summary>How many vectors the group has (the MSI-X table size).</summary>
    int Count { get; }

    /// <summary>
    /// Sends vector <paramref name="vector"/>. A masked vector is held back and sent when it is unmasked
    /// (the device's pending bit describes the same thing to the guest). Out-of-range vectors are ignored.
    /// </summary>
    void Trigger(int vector);

    /// <summary>
    /// The guest changed vector <paramref name="vector"/>'s message or mask (an MSI-X table entry, the
    /// function mask, or the MSI capability). Called on the vCPU thread that made the change.
    /// </summary>
    void Update(int vector, MsiMessage message, bool masked);

    /// <summary>An eventfd that sends vector <paramref name="vector"/> when signalled, from any thread.</summary>
    EventFd Notifier(int vector);
}
