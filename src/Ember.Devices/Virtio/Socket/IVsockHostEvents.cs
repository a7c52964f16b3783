namespace Ember.Devices.Virtio.Socket;

/// <summary>
/// What a vsock backend tells the device, from the backend's own thread (an event loop): a host program connected,
/// or a stream became ready. The device serializes these with the driver's notifications; neither ever throws.
/// </summary>
public interface IVsockHostEvents
{
    /// <summary>A host program connected to the device's listener; it is expected to send "CONNECT &lt;port&gt;\n" next.</summary>
    void HostConnected(IVsockHostStream stream);

    /// <summary>A stream is ready for what the device asked for (or hung up).</summary>
    void StreamReady(IVsockHostStream stream, VsockStreamEvents events);
}
