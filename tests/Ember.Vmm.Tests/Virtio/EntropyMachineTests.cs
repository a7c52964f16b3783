using Ember.Devices.RateLimiting;
using Ember.Devices.Virtio.Entropy;
using Ember.Kvm;
using Ember.TestGuests;
using Ember.Vmm.Machine;
using Ember.Vmm.Tests.Machine;

namespace Ember.Vmm.Tests.Virtio;

/// <summary>The machine's virtio-rng gets the rate limiter its configuration names.</summary>
public sealed class EntropyMachineTests
{
    [Fact]
    [Trait("Requires", "kvm")]
    public void TheEntropyDeviceIsBuiltWithTheConfiguredRateLimiter()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        string kernel = MultibootImage.WriteTemporary(a => GuestCode.Exit32(a, 0));
        try
        {
            var limit = new RateLimiterSettings(new TokenBucketSettings(4096, 100), new TokenBucketSettings(10, 1000));
            var config = new MachineConfig { KernelPath = kernel, MemorySize = 32UL << 20, Console = ConsoleKind.None, EntropyDevice = true, EntropyRateLimiter = limit };
            using var vm = MicroVm.Create(config, new CapturedConsole());
            var device = Assert.IsType<VirtioEntropy>(Assert.Single(vm.Virtio.Functions).Device);
            Assert.Equal(limit, device.Limiter.Settings);
        }
        finally
        {
            File.Delete(kernel);
        }
    }
}
