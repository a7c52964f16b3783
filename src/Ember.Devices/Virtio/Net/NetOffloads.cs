using Ember.Sys;

namespace Ember.Devices.Virtio.Net;

/// <summary>
/// Which unfinished frames the backend may hand the driver, from the receive features the driver accepted: a partial
/// checksum with GUEST_CSUM, TCP segments beyond the MTU with GUEST_TSO4/6 (virtio 1.2 §5.1.6.4). TSO without
/// GUEST_CSUM is a driver error (§5.1.3.1) and counts as no TSO: every offload less is always safe for the driver.
/// </summary>
public static class NetOffloads
{
    public static TapOffload ForDriver(ulong features)
    {
        if ((features & NetFeature.GuestChecksum) == 0)
            return TapOffload.None;
        var offload = TapOffload.Checksum;
        if ((features & NetFeature.GuestTso4) != 0)
            offload |= TapOffload.Tso4;
        if ((features & NetFeature.GuestTso6) != 0)
            offload |= TapOffload.Tso6;
        return offload;
    }
}
