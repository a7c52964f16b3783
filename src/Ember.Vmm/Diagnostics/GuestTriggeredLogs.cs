using Microsoft.Extensions.Logging;

namespace Ember.Vmm.Diagnostics;

/// <summary>
/// A machine's log call sites that the guest can reach, each with its own rate limit shared by every vCPU and
/// device of the machine: accesses where no device is, a device failing on a guest access, a virtio device the
/// driver broke, and a queue doorbell KVM would not take. <see cref="Flush"/> reports what was held back.
/// </summary>
public sealed class GuestTriggeredLogs(ILogger logger, TimeProvider? time = null)
{
    public RateLimitedLogger UnclaimedAccess { get; } = new(logger, LogLevel.Debug, "guest accesses where no device is", new LogRateLimit(time: time));

    public RateLimitedLogger DeviceFailure { get; } = new(logger, LogLevel.Error, "devices failing on guest accesses", new LogRateLimit(time: time));

    public RateLimitedLogger NeedsReset { get; } = new(logger, LogLevel.Warning, "virtio devices needing a reset", new LogRateLimit(time: time));

    public RateLimitedLogger NoIoEventFd { get; } = new(logger, LogLevel.Debug, "queue doorbells without an ioeventfd", new LogRateLimit(time: time));

    public void Flush()
    {
        UnclaimedAccess.Flush();
        DeviceFailure.Flush();
        NeedsReset.Flush();
        NoIoEventFd.Flush();
    }
}
