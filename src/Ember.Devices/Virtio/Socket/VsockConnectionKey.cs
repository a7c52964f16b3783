namespace Ember.Devices.Virtio.Socket;

/// <summary>
/// Which connection a packet belongs to, as the device keys its table: the host-side port (<see cref="LocalPort"/>:
/// a guest packet's dst_port) and the guest-side port (<see cref="PeerPort"/>: its src_port). Only the guest talks to
/// this device, so the ports alone tell connections apart.
/// </summary>
public readonly record struct VsockConnectionKey(uint LocalPort, uint PeerPort);
