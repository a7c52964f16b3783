using Ember.Sys;

namespace Ember.Devices.Virtio.Socket;

/// <summary>
/// The host end of one vsock connection: a byte stream to a host program (a Unix socket in Firecracker's scheme).
/// Transfers never block and never throw: a peer that went away reads and writes as <see cref="SocketIoStatus.Closed"/>.
/// Readiness is one-shot: <see cref="RequestEvents"/> asks for one <see cref="IVsockHostEvents.StreamReady"/> call,
/// after which the stream is silent until asked again; so a device that cannot take more bytes (no credit, no receive
/// buffers) simply does not ask, and is not woken.
/// </summary>
public interface IVsockHostStream : IDisposable
{
    SocketIoResult Read(Span<byte> buffer);

    SocketIoResult Write(ReadOnlySpan<byte> data);

    /// <summary>Half-closes: the host program reads the end of the stream; reading from it goes on.</summary>
    void ShutdownWrite();

    /// <summary>
    /// Asks for one readiness report for <paramref name="events"/> (a hang-up is reported too); None withdraws the
    /// request. Never blocks, and may be called under the device's lock from any thread.
    /// </summary>
    void RequestEvents(VsockStreamEvents events);

    /// <summary>
    /// Begins reporting readiness, with what was requested so far. Called once, after the device has recorded the
    /// stream and outside the device's lock: a backend may wait for its event loop here.
    /// </summary>
    void Start();
}
