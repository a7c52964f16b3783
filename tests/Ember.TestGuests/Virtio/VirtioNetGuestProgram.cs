namespace Ember.TestGuests.Virtio;

/// <summary>
/// What the virtio-net test guest does: as <see cref="GuestIp"/> at <see cref="GuestMac"/>, ask by ARP where
/// <see cref="HostIp"/> is, then send it an ICMP echo request (<see cref="Identifier"/>, <see cref="Sequence"/>,
/// <see cref="Payload"/>) and wait for the matching reply.
/// </summary>
public sealed record VirtioNetGuestProgram
{
    public required byte[] GuestMac { get; init; }
    public required byte[] GuestIp { get; init; }
    public required byte[] HostIp { get; init; }
    public ushort Identifier { get; init; } = 0x4E47;
    public ushort Sequence { get; init; } = 1;
    public byte[] Payload { get; init; } = "ping from the ember virtio-net test guest"u8.ToArray();

    /// <summary>
    /// Echo requests to send, one after the other, each once the previous one's reply has arrived and been checked (the
    /// same frame every time: the host's kernel answers each); the last reply is the one kept at <see cref="VirtioNetGuestLayout.Reply"/>.
    /// </summary>
    public uint EchoCount { get; init; } = 1;

    /// <summary>
    /// An MMIO byte that gets the value 123 right before the first echo request and right after the last reply: Ember's
    /// boot timer (<c>Layout.BootTimer</c>), so a host can time and count the echo loop alone (bench/Ember.Bench.GuestVirtio).
    /// Null for none.
    /// </summary>
    public uint? EchoPhaseMarker { get; init; }

    /// <summary>Each queue's size: a power of two from the receive buffer count up to <see cref="VirtioGuestLayout.MaxQueueSize"/>.</summary>
    public ushort QueueSize { get; init; } = 16;

    /// <summary>Which virtio-net function on bus 0 to drive, counting from 0 in slot order.</summary>
    public int DeviceIndex { get; init; }

    /// <summary>Null when the program can be assembled, else why not.</summary>
    public string? Problem()
    {
        if (GuestMac is not { Length: 6 } || (GuestMac[0] & 1) != 0)
            return "the guest's MAC is 6 bytes, a unicast address";
        if (GuestIp is not { Length: 4 } || HostIp is not { Length: 4 })
            return "IPv4 addresses are 4 bytes";
        if (Payload is null || Payload.Length > VirtioNetGuestLayout.MaxPayload)
            return $"the ICMP payload is at most {VirtioNetGuestLayout.MaxPayload} bytes";
        if (EchoCount == 0)
            return "the guest sends at least one echo request";
        if (DeviceIndex is < 0 or > 31)
            return "the device index is 0 to 31";
        if (QueueSize < VirtioNetGuestLayout.ReceiveBufferCount || QueueSize > VirtioGuestLayout.MaxQueueSize || (QueueSize & (QueueSize - 1)) != 0)
            return $"the queue size must be a power of two from {VirtioNetGuestLayout.ReceiveBufferCount} to {VirtioGuestLayout.MaxQueueSize}";
        return null;
    }
}
