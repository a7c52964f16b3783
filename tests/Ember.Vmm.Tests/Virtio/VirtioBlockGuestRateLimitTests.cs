using Ember.Devices.RateLimiting;
using Ember.TestGuests.Virtio;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Virtio;

/// <summary>
/// Firecracker's rate limiter on a disk a real guest drives through real KVM: 1 MiB of reads through a 640 KiB/s
/// bandwidth limit takes the guest at least as long as the limit allows, and the disk's counters (the metrics'
/// source) say exactly what the guest read. Only the lower bound is asserted: a slower host makes it longer, never
/// shorter, so the verdict does not depend on this host's speed.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class VirtioBlockGuestRateLimitTests : IDisposable
{
    private const uint Length = 64 * 1024;
    private const uint Count = 16;
    private readonly string _directory = Directory.CreateTempSubdirectory("ember-ratelimit-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(IrqchipMode.Split)]
    [InlineData(IrqchipMode.Kernel)]
    public void ABandwidthLimitCapsTheGuestsReadThroughput(IrqchipMode irqchip)
    {
        string disk = Path.Combine(_directory, "disk0.img");
        File.WriteAllBytes(disk, new byte[Length * Count]);
        var program = new VirtioBlockGuestProgram { Steps = [VirtioBlockStep.Read(0, Length, Count, checksum: false, spreadBuffer: true)] };
        // 64 KiB per 100 ms: the full bucket pays for the first request, the other 15 come at 640 KiB/s, 1.5 s.
        var limit = new RateLimiterSettings(new TokenBucketSettings(Length, 100), null);
        long readBytes = 0, reads = 0, throttled = 0;

        var result = VirtioBlockGuestRun.Run(program, [new DriveConfig("disk0", disk, RateLimiter: limit)], irqchip, inspect: vm =>
        {
            var device = vm.Virtio.Disks.Single().Device;
            (readBytes, reads, throttled) = (device.ReadBytes, device.Reads, device.Limiter.ThrottledCount);
        });

        result.AssertSucceeded();
        Assert.NotNull(result.RequestPhase);
        // From the guest's marker right before its first request until the machine stopped.
        var requests = result.RequestPhase.Value;
        TestContext.Current.TestOutputHelper?.WriteLine($"{irqchip}: 1 MiB through a 640 KiB/s limit in {requests.TotalMilliseconds:F0} ms (run {result.Elapsed.TotalMilliseconds:F0} ms), {throttled} refusals");
        Assert.True(requests >= TimeSpan.FromMilliseconds(1400), $"1 MiB went through a 640 KiB/s limit in {requests.TotalMilliseconds:F0} ms");
        Assert.Equal(Length * Count, readBytes);
        Assert.Equal(Count, reads);
        // Not one refusal per request: a guest held up for a refill period (a busy host) finds the bucket full again.
        Assert.True(throttled >= 1, $"no refusal for {Count} requests through a bucket that holds one");
    }
}
