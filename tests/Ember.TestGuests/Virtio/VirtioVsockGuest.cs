namespace Ember.TestGuests.Virtio;

/// <summary>
/// A guest-side virtio-vsock driver in 32-bit assembly, packaged as a multiboot kernel, on the driver every virtio test
/// guest shares (<see cref="VirtioPciDriverEmitter"/>): it finds the socket function (1AF4:1053), reads its CID, sets up
/// the receive and transmit queues (the event queue stays off: the driver never needs a transport reset), posts
/// <see cref="VirtioVsockGuestLayout.ReceiveBufferCount"/> receive buffers, prints "vsock ready" and runs a
/// <see cref="VirtioVsockGuestProgram"/>: stream connections (virtio 1.2 §5.10.6) it opens or accepts, echoing the
/// payload it receives with its credit (buf_alloc, fwd_cnt) in every packet. It reports on COM1
/// (<see cref="VirtioVsockGuestReport"/>) and ends with a <see cref="VirtioGuestOutcome"/> on the debug-exit port.
/// </summary>
public static class VirtioVsockGuest
{
    /// <summary>virtio device type 19: the function is 1AF4:1053.</summary>
    public const ushort DeviceType = 19;

    /// <summary>The line the guest prints once its receive buffers are posted: host programs may connect from then on.</summary>
    public const string ReadyLine = "vsock ready";

    /// <summary>The multiboot image for <paramref name="program"/>. Throws ArgumentException for a program that cannot be assembled.</summary>
    public static byte[] Build(VirtioVsockGuestProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (program.Problem() is { } problem)
            throw new ArgumentException($"virtio-vsock guest program: {problem}", nameof(program));
        return MultibootImage.Build(a => new VirtioVsockGuestEmitter(a, program).Emit());
    }
}
