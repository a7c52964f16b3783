namespace Ember.TestGuests.Virtio;

/// <summary>Where the virtio-net test guest keeps its own results, receive buffers, transmit frame and the reply it got, beside <see cref="VirtioGuestLayout"/>.</summary>
public static class VirtioNetGuestLayout
{
    /// <summary>What the guest was doing when it stopped (<see cref="VirtioNetGuestStage"/>).</summary>
    public const uint ResultStage = VirtioGuestLayout.DeviceResults + 0x00;
    /// <summary>Frames received that were not the answer the guest waited for (skipped).</summary>
    public const uint ResultSkipped = VirtioGuestLayout.DeviceResults + 0x04;
    /// <summary>The length of the echo reply frame kept at <see cref="Reply"/> (without the virtio-net header).</summary>
    public const uint ResultReplyLength = VirtioGuestLayout.DeviceResults + 0x08;
    /// <summary>Echo replies received and checked so far.</summary>
    public const uint ResultEchoReplies = VirtioGuestLayout.DeviceResults + 0x0C;
    /// <summary>The host's MAC address from its ARP reply (6 bytes).</summary>
    public const uint ResultHostMac = VirtioGuestLayout.DeviceResults + 0x10;

    /// <summary>Receive buffers, one device-writable descriptor each: the 12-byte header and a frame of up to 1514 bytes fit (virtio 1.2 §5.1.6.3.1).</summary>
    public const uint ReceiveBuffers = VirtioGuestLayout.DeviceArea + 0x1_0000;
    public const int ReceiveBufferCount = 8;
    public const uint ReceiveBufferSize = 0x800;

    /// <summary>The one frame the guest transmits at a time, after its virtio-net header.</summary>
    public const uint TransmitBuffer = VirtioGuestLayout.DeviceArea + 0x2_0000;

    /// <summary>The echo reply as it arrived (Ethernet on), for the host to read after the run.</summary>
    public const uint Reply = VirtioGuestLayout.DeviceArea + 0x3_0000;

    /// <summary>struct virtio_net_hdr with VERSION_1 (§5.1.6): 12 bytes before every frame, both ways.</summary>
    public const int HeaderSize = 12;

    /// <summary>The most ICMP payload a program may send: the echo request and its reply fit one 1514-byte frame.</summary>
    public const int MaxPayload = 1472;

    /// <summary>RAM the guest needs.</summary>
    public const ulong MinimumMemory = 16UL << 20;

    /// <summary>The guest's variables.</summary>
    internal const uint Variables = VirtioGuestLayout.DeviceVariables;
}
