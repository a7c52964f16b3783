using Ember.Devices.RateLimiting;
using Ember.Devices.Virtio.Net;
using Ember.Sys;

namespace Ember.Vmm.Control;

/// <summary>
/// A virtio-net interface (Firecracker's NetworkInterface) on a host TAP. Validate checks what can be checked
/// when it is set; whether the TAP exists is checked when the machine is built, since the operator may create it
/// between the two.
/// </summary>
public sealed record NetworkInterfaceResource
{
    public required string IfaceId { get; init; }

    /// <summary>The host TAP, in Ember's network namespace.</summary>
    public required string HostDevName { get; init; }

    /// <summary>The guest's MAC address as given; null lets the guest's driver pick one.</summary>
    public string? GuestMac { get; init; }

    /// <summary>Firecracker's rx_rate_limiter on frames to the guest; null limits nothing.</summary>
    public RateLimiterSettings? RxRateLimiter { get; init; }

    /// <summary>Firecracker's tx_rate_limiter on frames from the guest; null limits nothing.</summary>
    public RateLimiterSettings? TxRateLimiter { get; init; }

    /// <summary>The parsed guest MAC (valid after <see cref="Validate"/>).</summary>
    public MacAddress? Mac => GuestMac is null ? null : MacAddress.Parse(GuestMac);

    public void Validate()
    {
        // The same rule as MachineConfig's for a network interface id.
        if (IfaceId.Length is 0 or > 64 || !IfaceId.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            throw new ResourceConfigException($"iface_id: '{IfaceId}' must be 1 to 64 letters, digits, '_' or '-'");
        if (TapDevice.ValidateName(HostDevName) is { } tapProblem)
            throw new ResourceConfigException($"host_dev_name: {tapProblem}");
        if (GuestMac is not null && MacAddress.TryParse(GuestMac, out _) is { } macProblem)
            throw new ResourceConfigException($"guest_mac: {macProblem}");
    }
}
