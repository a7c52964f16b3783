namespace Ember.Devices.Virtio.Socket;

/// <summary>
/// What <see cref="VirtioVsock"/> decided under its lock and does after releasing it: interrupts (the transport may
/// take its own lock) and starting or disposing host streams (a backend may wait for its event loop, whose handlers
/// wait for the device's lock). Streams start before any is disposed, so one opened and closed at once ends closed.
/// </summary>
internal sealed class VsockDeferredWork
{
    public List<IVsockHostStream> Start { get; } = [];

    public List<IVsockHostStream> Close { get; } = [];

    public IVirtioInterrupt? Interrupt { get; set; }

    public bool SignalReceive { get; set; }

    public bool SignalTransmit { get; set; }

    public bool SignalConfiguration { get; set; }

    public void Run()
    {
        foreach (var stream in Start)
            stream.Start();
        foreach (var stream in Close)
            stream.Dispose();
        if (Interrupt is not { } interrupt)
            return;
        if (SignalReceive)
            interrupt.SignalQueue(VirtioVsock.ReceiveQueue);
        if (SignalTransmit)
            interrupt.SignalQueue(VirtioVsock.TransmitQueue);
        if (SignalConfiguration)
            interrupt.SignalConfigurationChange();
    }
}
