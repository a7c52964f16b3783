using Microsoft.Extensions.Logging;

namespace Ember.Vmm.Diagnostics;

/// <summary>The machine's log lines that a guest can cause, source-generated; each goes through a <see cref="RateLimitedLogger"/>.</summary>
internal static partial class VmmLog
{
    [LoggerMessage(Message = "suppressed {Count} similar lines: {Site}")]
    public static partial void Suppressed(ILogger logger, LogLevel level, long count, string site);

    [LoggerMessage(Level = LogLevel.Error, Message = "device at {Space} 0x{Address:x} failed on a guest access")]
    public static partial void DeviceFailed(ILogger logger, Exception exception, string space, ulong address);

    [LoggerMessage(Level = LogLevel.Debug, Message = "guest {Access} of {Size} bytes at {Space} 0x{Address:x}: no device there")]
    public static partial void UnclaimedAccess(ILogger logger, string access, int size, string space, ulong address);

    [LoggerMessage(Level = LogLevel.Debug, Message = "no ioeventfd at 0x{Address:x}: {Error}")]
    public static partial void NoIoEventFd(ILogger logger, ulong address, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Device}: the driver broke a virtqueue ({Fault}); the device needs a reset (DEVICE_NEEDS_RESET)")]
    public static partial void DeviceNeedsReset(ILogger logger, string device, string fault);
}
