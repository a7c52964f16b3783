namespace Ember.TestGuests.Virtio;

/// <summary>
/// One connection of a <see cref="VirtioVsockGuestProgram"/>: the guest connects to host port <see cref="HostPort"/>
/// from <see cref="GuestPort"/> (<see cref="GuestConnects"/>), or waits for a host program's connection to
/// <see cref="GuestPort"/>; then it echoes payload until it has sent back <see cref="EchoBytes"/>, shuts the
/// connection down both ways and waits for the device's reset that ends it.
/// </summary>
public sealed record VirtioVsockGuestStep(bool GuestConnects, uint GuestPort, uint HostPort, uint EchoBytes)
{
    /// <summary>The guest connects from <paramref name="guestPort"/> to host port <paramref name="hostPort"/> (Ember forwards it to "&lt;uds_path&gt;_&lt;hostPort&gt;").</summary>
    public static VirtioVsockGuestStep ConnectToHost(uint guestPort, uint hostPort, uint echoBytes) => new(true, guestPort, hostPort, echoBytes);

    /// <summary>The guest accepts a connection to <paramref name="guestPort"/> (a host program's "CONNECT &lt;guestPort&gt;").</summary>
    public static VirtioVsockGuestStep AcceptFromHost(uint guestPort, uint echoBytes) => new(false, guestPort, 0, echoBytes);

    /// <summary>Null when the step can be assembled, else why not.</summary>
    internal string? Problem()
    {
        // The guest does not track the device's credit: what it echoes must fit the device's 64 KiB buffer even if
        // the host program reads none of it until the end.
        if (EchoBytes > VirtioVsockGuestLayout.BufferAllocation)
            return $"a connection echoes at most {VirtioVsockGuestLayout.BufferAllocation} bytes";
        if (GuestPort == uint.MaxValue || HostPort == uint.MaxValue)
            return "port 0xFFFFFFFF is VMADDR_PORT_ANY, not a port";
        return null;
    }
}
