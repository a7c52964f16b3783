using Ember.Devices.Virtio.Net;

namespace Ember.Vmm.Machine;

/// <summary>A virtio-net interface on a host TAP that already exists (ip tuntap add NAME mode tap).</summary>
/// <param name="Id">The interface's name in Ember (Firecracker's iface_id): 1 to 64 letters, digits, '_' or '-'.</param>
/// <param name="TapName">The host TAP in Ember's network namespace.</param>
/// <param name="Mac">The guest's address; null lets the guest's driver pick a random one.</param>
public sealed record NetworkInterfaceConfig(string Id, string TapName, MacAddress? Mac = null);
