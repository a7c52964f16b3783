namespace Ember.Devices.Virtio;

/// <summary>
/// Where a transport asks the VMM to watch a queue's notification address, so that a guest write there
/// reaches the device without an exit to user space (KVM_IOEVENTFD). Devices never see this; the VMM
/// implements it. The callback runs on an I/O thread, never on the vCPU, and must not throw.
/// </summary>
public interface IQueueDoorbells
{
    /// <summary>
    /// Calls <paramref name="rung"/> whenever the guest writes at guest-physical MMIO <paramref name="address"/>,
    /// the notify address of queue <paramref name="queueIndex"/>: any write there, or where the host can only match
    /// exact writes, a 16-bit write of the queue index (what virtio-pci drivers write, virtio 1.2 §4.1.5.2). Returns
    /// the registration to dispose when the address stops being valid (BAR moved, memory decoding off, device
    /// reset), or null when the host cannot watch it. A write the doorbell does not match exits to user space
    /// and reaches the transport's notify region as usual.
    /// </summary>
    IDisposable? Attach(ulong address, ushort queueIndex, Action rung);
}
