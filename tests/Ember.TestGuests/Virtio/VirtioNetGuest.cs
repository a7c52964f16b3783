namespace Ember.TestGuests.Virtio;

/// <summary>
/// A guest-side virtio-net driver in 32-bit assembly, packaged as a multiboot kernel, on the driver every virtio test
/// guest shares (<see cref="VirtioPciDriverEmitter"/>): it finds the network function (1AF4:1041), negotiates
/// VERSION_1 alone (no offloads, no mergeable buffers: every frame arrives whole in one buffer behind a 12-byte
/// header, virtio 1.2 §5.1.6), sets up the receive and transmit queues, posts receive buffers and runs a
/// <see cref="VirtioNetGuestProgram"/>: an ARP request for the host's address, then an ICMP echo request to it (or
/// <see cref="VirtioNetGuestProgram.EchoCount"/> of them, one after the other), each
/// answered frame checked field by field (frames that are not the answer are skipped and counted). The frames are
/// made when the guest is assembled (checksums included); the guest fills in only the host's MAC it learned. It
/// reports on COM1 (<see cref="VirtioNetGuestReport"/>) and ends with a <see cref="VirtioGuestOutcome"/>.
/// </summary>
public static class VirtioNetGuest
{
    /// <summary>virtio device type 1: the function is 1AF4:1041.</summary>
    public const ushort DeviceType = 1;

    /// <summary>The multiboot image for <paramref name="program"/>. Throws ArgumentException for a program that cannot be assembled.</summary>
    public static byte[] Build(VirtioNetGuestProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (program.Problem() is { } problem)
            throw new ArgumentException($"virtio-net guest program: {problem}", nameof(program));
        return MultibootImage.Build(a => new VirtioNetGuestEmitter(a, program).Emit());
    }
}
