using Ember.Devices.RateLimiting;
using Ember.Devices.Virtio.Net;

namespace Ember.Vmm.Machine;

/// <summary>A virtio-net interface on a host TAP that already exists (ip tuntap add NAME mode tap).</summary>
/// <param name="Id">The interface's name in Ember (Firecracker's iface_id): 1 to 64 letters, digits, '_' or '-'.</param>
/// <param name="TapName">The host TAP in Ember's network namespace.</param>
/// <param name="Mac">The guest's address; null lets the guest's driver pick a random one.</param>
/// <param name="RxRateLimiter">Firecracker's limiter on frames to the guest; null limits nothing.</param>
/// <param name="TxRateLimiter">Firecracker's limiter on frames from the guest; null limits nothing.</param>
public sealed record NetworkInterfaceConfig(string Id, string TapName, MacAddress? Mac = null, RateLimiterSettings? RxRateLimiter = null, RateLimiterSettings? TxRateLimiter = null);
