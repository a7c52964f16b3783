namespace Ember.Devices.Virtio.Net;

/// <summary>
/// <c>struct virtio_net_hdr</c> in front of every frame, both ways (virtio 1.2 §5.1.6): with VERSION_1 it is always
/// 12 bytes, num_buffers included, which is also the header a TAP with IFF_VNET_HDR and TUNSETVNETHDRSZ 12 uses.
/// </summary>
public static class NetHeaderLayout
{
    public const int Size = 12;

    /// <summary>u8 flags.</summary>
    public const int Flags = 0;

    /// <summary>u8 gso_type.</summary>
    public const int GsoType = 1;

    /// <summary>le16 hdr_len, le16 gso_size, le16 csum_start, le16 csum_offset follow; then le16 num_buffers.</summary>
    public const int NumBuffers = 10;

    /// <summary>VIRTIO_NET_HDR_F_NEEDS_CSUM: the checksum from csum_start is still to be done.</summary>
    public const byte FlagNeedsChecksum = 1;

    /// <summary>VIRTIO_NET_HDR_F_DATA_VALID: the device checked the checksum (receive only).</summary>
    public const byte FlagDataValid = 2;

    public const byte GsoNone = 0;
    public const byte GsoTcpV4 = 1;
    public const byte GsoUdp = 3;
    public const byte GsoTcpV6 = 4;
    public const byte GsoUdpL4 = 5;

    /// <summary>VIRTIO_NET_HDR_GSO_ECN, or-ed into gso_type.</summary>
    public const byte GsoEcn = 0x80;

    /// <summary>An Ethernet header: destination, source, EtherType. No frame is shorter.</summary>
    public const int EthernetHeaderSize = 14;

    /// <summary>
    /// The largest frame with its header either way: 12 + 65550, what the spec tells a driver without MRG_RXBUF but with
    /// GUEST_TSO to give per receive buffer (virtio 1.2 §5.1.6.3.1), and so the most a 64 KiB segment needs.
    /// </summary>
    public const int MaxFrameLength = Size + 65550;
}
