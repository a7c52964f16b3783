namespace Ember.Devices.Virtio.Net;

/// <summary>
/// Offsets in struct virtio_net_config (virtio 1.2 §5.1.4) of the fields this device fills: mac, status and
/// max_virtqueue_pairs. The structure ends there: mtu and later fields belong to features not offered.
/// </summary>
public static class NetConfigurationLayout
{
    /// <summary>u8 mac[6] (VIRTIO_NET_F_MAC).</summary>
    public const int Mac = 0;

    /// <summary>le16 status (VIRTIO_NET_F_STATUS).</summary>
    public const int Status = 6;

    /// <summary>le16 max_virtqueue_pairs: one pair, as without VIRTIO_NET_F_MQ.</summary>
    public const int MaxVirtqueuePairs = 8;

    public const int Length = 10;

    /// <summary>VIRTIO_NET_S_LINK_UP in status.</summary>
    public const ushort StatusLinkUp = 1;
}
