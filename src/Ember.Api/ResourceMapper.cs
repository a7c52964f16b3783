using Ember.Api.Dto;
using RateLimiterSettings = Ember.Devices.RateLimiting.RateLimiterSettings;
using TokenBucketSettings = Ember.Devices.RateLimiting.TokenBucketSettings;
using Ember.Vmm.Control;

namespace Ember.Api;

/// <summary>From Firecracker's bodies to Ember's resource records and back; what Ember cannot do yet is refused here, by field.</summary>
internal static class ResourceMapper
{
    public static BootSourceConfig ToBootSource(BootSource body) => new(body.KernelImagePath, body.BootArgs, body.InitrdPath);

    /// <summary>PUT: vcpu_count and mem_size_mib are required, everything else goes back to its default.</summary>
    public static MachineSizeConfig ToMachineSize(MachineConfiguration body)
    {
        if (body.VcpuCount is null)
            throw new ApiRequestException("vcpu_count: missing (a required field)");
        if (body.MemSizeMib is null)
            throw new ApiRequestException("mem_size_mib: missing (a required field)");
        return Apply(new MachineSizeConfig(), body);
    }

    /// <summary>PATCH: only the fields given change.</summary>
    public static MachineSizeConfig Apply(MachineSizeConfig current, MachineConfiguration body)
    {
        return current with
        {
            VcpuCount = body.VcpuCount ?? current.VcpuCount,
            MemSizeMib = body.MemSizeMib ?? current.MemSizeMib,
            Smt = body.Smt ?? current.Smt,
            TrackDirtyPages = body.TrackDirtyPages ?? current.TrackDirtyPages,
            HugePages = body.HugePages ?? current.HugePages,
            CpuTemplate = body.CpuTemplate ?? current.CpuTemplate,
            GdbSocketPath = body.GdbSocketPath ?? current.GdbSocketPath,
        };
    }

    public static MachineConfiguration FromMachineSize(MachineSizeConfig size) => new()
    {
        VcpuCount = size.VcpuCount,
        MemSizeMib = size.MemSizeMib,
        Smt = size.Smt,
        TrackDirtyPages = size.TrackDirtyPages,
        HugePages = size.HugePages,
        CpuTemplate = size.CpuTemplate,
        GdbSocketPath = size.GdbSocketPath,
    };

    public static DriveResource ToDrive(Drive body)
    {
        if (body.Socket is not null)
            throw new ApiRequestException("socket: Ember has no vhost-user-block backend; give path_on_host and is_read_only for a virtio-block drive");
        if (body.PathOnHost is null)
            throw new ApiRequestException("path_on_host: missing (required for a virtio-block drive)");
        if (body.IsReadOnly is null)
            throw new ApiRequestException("is_read_only: missing (required for a virtio-block drive)");
        return new DriveResource
        {
            RateLimiter = ToRateLimiter("rate_limiter", body.RateLimiter),
            DriveId = body.DriveId,
            PathOnHost = body.PathOnHost,
            IsRootDevice = body.IsRootDevice,
            IsReadOnly = body.IsReadOnly.Value,
            Partuuid = body.Partuuid,
            CacheType = body.CacheType ?? "Unsafe",
            IoEngine = body.IoEngine ?? "Sync",
        };
    }

    public static Drive FromDrive(DriveResource drive) => new()
    {
        DriveId = drive.DriveId,
        PathOnHost = drive.PathOnHost,
        IsRootDevice = drive.IsRootDevice,
        IsReadOnly = drive.IsReadOnly,
        Partuuid = drive.Partuuid,
        CacheType = drive.CacheType,
        IoEngine = drive.IoEngine,
        RateLimiter = FromRateLimiter(drive.RateLimiter),
    };

    public static NetworkInterfaceResource ToNetworkInterface(NetworkInterface body)
    {
        if (body.Mtu is not null)
            throw new ApiRequestException("mtu: Ember does not offer VIRTIO_NET_F_MTU yet; leave it out");
        return new NetworkInterfaceResource
        {
            IfaceId = body.IfaceId,
            HostDevName = body.HostDevName,
            GuestMac = body.GuestMac,
            RxRateLimiter = ToRateLimiter("rx_rate_limiter", body.RxRateLimiter),
            TxRateLimiter = ToRateLimiter("tx_rate_limiter", body.TxRateLimiter),
        };
    }

    public static NetworkInterface FromNetworkInterface(NetworkInterfaceResource network) => new()
    {
        IfaceId = network.IfaceId,
        HostDevName = network.HostDevName,
        GuestMac = network.GuestMac,
        RxRateLimiter = FromRateLimiter(network.RxRateLimiter),
        TxRateLimiter = FromRateLimiter(network.TxRateLimiter),
    };

    /// <summary>Firecracker's RateLimiter body as settings; a negative count is refused by field name.</summary>
    public static RateLimiterSettings? ToRateLimiter(string field, RateLimiter? body) =>
        body is null ? null : new RateLimiterSettings(ToBucket($"{field}.bandwidth", body.Bandwidth), ToBucket($"{field}.ops", body.Ops));

    /// <summary>Firecracker's TokenBucket body as settings; a negative count is refused by field name (<paramref name="field"/>.size, …).</summary>
    public static TokenBucketSettings? ToBucket(string field, TokenBucket? body)
    {
        if (body is null)
            return null;
        return new TokenBucketSettings(NonNegative($"{field}.size", body.Size), NonNegative($"{field}.refill_time", body.RefillTime), NonNegative($"{field}.one_time_burst", body.OneTimeBurst ?? 0));

        static ulong NonNegative(string name, long value) =>
            value >= 0 ? (ulong)value : throw new ApiRequestException($"{name}: {value} is below the minimum of 0");
    }

    private static RateLimiter? FromRateLimiter(RateLimiterSettings? settings) =>
        settings is null ? null : new RateLimiter { Bandwidth = FromBucket(settings.Bandwidth), Ops = FromBucket(settings.Ops) };

    private static TokenBucket? FromBucket(TokenBucketSettings? bucket) =>
        bucket is null ? null : new TokenBucket { Size = (long)bucket.Size, RefillTime = (long)bucket.RefillTimeMs, OneTimeBurst = bucket.OneTimeBurst == 0 ? null : (long)bucket.OneTimeBurst };

    public static LoggerResource ToLogger(Logger body) => new()
    {
        LogPath = body.LogPath,
        Level = body.Level ?? "Info",
        ShowLevel = body.ShowLevel ?? false,
        ShowLogOrigin = body.ShowLogOrigin ?? false,
        Module = body.Module,
    };

    public static MetricsResource ToMetrics(Metrics body)
    {
        if (body.EmitId == true)
            throw new ApiRequestException("emit_id: Ember's metrics lines do not carry the instance id yet");
        if (body.Properties is { Count: > 0 })
            throw new ApiRequestException("properties: Ember's metrics lines do not carry operator properties yet");
        return new MetricsResource(body.MetricsPath);
    }

    /// <summary>The serial console's rate_limiter is one TokenBucket (of bytes), not a RateLimiter: there are no operations to count.</summary>
    public static SerialResource ToSerial(SerialDevice body) => new(body.SerialOutPath, ToBucket("rate_limiter", body.RateLimiter));

    public static VsockResource ToVsock(Vsock body) => new() { GuestCid = body.GuestCid, UdsPath = body.UdsPath, VsockId = body.VsockId };

    public static FullVmConfiguration FromSnapshot(VmResourcesSnapshot snapshot) => new()
    {
        BootSource = snapshot.BootSource is { } boot ? new BootSource { KernelImagePath = boot.KernelImagePath, BootArgs = boot.BootArgs, InitrdPath = boot.InitrdPath } : null,
        MachineConfig = FromMachineSize(snapshot.MachineSize),
        Drives = snapshot.Drives.Select(FromDrive).ToList(),
        NetworkInterfaces = snapshot.NetworkInterfaces.Select(FromNetworkInterface).ToList(),
        Entropy = snapshot.Entropy ? new EntropyDevice { RateLimiter = FromRateLimiter(snapshot.EntropyRateLimiter) } : null,
        Vsock = snapshot.Vsock is { } vsock ? new Vsock { GuestCid = vsock.GuestCid, UdsPath = vsock.UdsPath, VsockId = vsock.VsockId } : null,
        Logger = snapshot.Logger is { } logger ? new Logger { Level = logger.Level, LogPath = logger.LogPath, ShowLevel = logger.ShowLevel, ShowLogOrigin = logger.ShowLogOrigin, Module = logger.Module } : null,
        Metrics = snapshot.Metrics is { } metrics ? new Metrics { MetricsPath = metrics.MetricsPath } : null,
        Serial = snapshot.Serial is { } serial ? new SerialDevice { SerialOutPath = serial.SerialOutPath, RateLimiter = FromBucket(serial.RateLimiter) } : null,
    };
}
