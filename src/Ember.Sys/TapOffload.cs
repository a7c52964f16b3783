namespace Ember.Sys;

/// <summary>
/// What the TAP may hand Ember unfinished (TUNSETOFFLOAD, linux/if_tun.h TUN_F_*): frames with a partial checksum
/// or larger than the MTU, described by the virtio-net header. A virtio-net device sets the offloads its driver
/// accepted (VIRTIO_NET_F_GUEST_CSUM, GUEST_TSO4, ...), so the host never sends the guest what it cannot handle.
/// </summary>
[Flags]
public enum TapOffload : uint
{
    None = 0,
    Checksum = 0x01,
    Tso4 = 0x02,
    Tso6 = 0x04,
    TsoEcn = 0x08,
    Ufo = 0x10,
    Uso4 = 0x20,
    Uso6 = 0x40,
}
