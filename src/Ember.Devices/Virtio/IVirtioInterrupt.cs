namespace Ember.Devices.Virtio;

/// <summary>
/// How a virtio device tells the driver something, whatever the transport: a used buffer on a queue or
/// a change in its configuration. The transport turns this into the queue's MSI-X vector, or the ISR bit
/// and the INTx line. Safe to call from the device's I/O thread.
/// </summary>
public interface IVirtioInterrupt
{
    void SignalQueue(int queue);

    void SignalConfigurationChange();
}
