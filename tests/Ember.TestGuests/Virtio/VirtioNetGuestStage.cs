namespace Ember.TestGuests.Virtio;

/// <summary>What the virtio-net test guest was doing (<see cref="VirtioNetGuestLayout.ResultStage"/>, and the "FAIL" line).</summary>
public enum VirtioNetGuestStage
{
    BringUp = 0,
    /// <summary>Sent an ARP request for the host's address; waiting for the reply.</summary>
    Arp = 1,
    /// <summary>Sent an ICMP echo request to the host; waiting for the reply.</summary>
    Echo = 2,
    Done = 3,
}
