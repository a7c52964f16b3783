namespace Ember.Vmm.Control;

/// <summary>A copy of the resources as they are now (GET /vm/config), safe to read on any thread.</summary>
public sealed record VmResourcesSnapshot(
    BootSourceConfig? BootSource,
    MachineSizeConfig MachineSize,
    IReadOnlyList<DriveResource> Drives,
    bool Entropy,
    LoggerResource? Logger,
    MetricsResource? Metrics,
    SerialResource? Serial,
    IReadOnlyList<NetworkInterfaceResource> NetworkInterfaces,
    VsockResource? Vsock = null,
    Ember.Devices.RateLimiting.RateLimiterSettings? EntropyRateLimiter = null);
