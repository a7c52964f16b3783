namespace Ember.Devices.Virtio.Net;

/// <summary>virtio-net feature bits (virtio 1.2 §5.1.3), as masks of the 64-bit feature word.</summary>
public static class NetFeature
{
    /// <summary>The device takes frames with a partial checksum from the driver (transmit).</summary>
    public const ulong Checksum = 1UL << 0;

    /// <summary>The driver takes frames with a partial checksum (receive).</summary>
    public const ulong GuestChecksum = 1UL << 1;

    /// <summary>The configuration's mac field holds the interface's address.</summary>
    public const ulong Mac = 1UL << 5;

    /// <summary>The driver takes TCP over IPv4 segments larger than the MTU (receive); needs GuestChecksum.</summary>
    public const ulong GuestTso4 = 1UL << 7;

    /// <summary>The driver takes TCP over IPv6 segments larger than the MTU (receive); needs GuestChecksum.</summary>
    public const ulong GuestTso6 = 1UL << 8;

    /// <summary>The driver takes TSO frames with ECN (not offered).</summary>
    public const ulong GuestEcn = 1UL << 9;

    /// <summary>The driver takes UFO frames (not offered).</summary>
    public const ulong GuestUfo = 1UL << 10;

    /// <summary>The device takes TCP over IPv4 segments larger than the MTU (transmit); needs Checksum.</summary>
    public const ulong HostTso4 = 1UL << 11;

    /// <summary>The device takes TCP over IPv6 segments larger than the MTU (transmit); needs Checksum.</summary>
    public const ulong HostTso6 = 1UL << 12;

    /// <summary>The device takes TSO frames with ECN (not offered).</summary>
    public const ulong HostEcn = 1UL << 13;

    /// <summary>The device takes UFO frames (not offered: Linux stopped making them in 4.14).</summary>
    public const ulong HostUfo = 1UL << 14;

    /// <summary>A received frame may fill several receive chains; the header's num_buffers says how many.</summary>
    public const ulong MergeableReceiveBuffers = 1UL << 15;

    /// <summary>The configuration's status field says whether the link is up.</summary>
    public const ulong Status = 1UL << 16;
}
