using Ember.Devices.RateLimiting;
using Ember.Vmm.Control;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Control;

/// <summary>The vsock and entropy resources as the builder sees them, and their place among the PCI devices.</summary>
public sealed class VmResourcesVsockEntropyTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("ember-resources-");

    public void Dispose() => _directory.Delete(recursive: true);

    private string PathOf(string name) => Path.Combine(_directory.FullName, name);

    private VmResources WithKernel()
    {
        string kernel = PathOf("vmlinux");
        File.WriteAllBytes(kernel, new byte[4096]);
        var resources = new VmResources();
        resources.SetBootSource(new BootSourceConfig(kernel, null, null));
        return resources;
    }

    [Fact]
    public void VsockAndTheEntropyLimiterReachTheMachineConfig()
    {
        var resources = WithKernel();
        var limit = new RateLimiterSettings(new TokenBucketSettings(1000, 100), null);
        resources.SetEntropy(limit);
        resources.SetVsock(new VsockResource { GuestCid = 9, UdsPath = PathOf("v.sock"), VsockId = "old" });

        var config = resources.Build();

        Assert.True(config.EntropyDevice);
        Assert.Equal(limit, config.EntropyRateLimiter);
        Assert.Equal(new VsockConfig(9, PathOf("v.sock")), config.Vsock);
        Assert.Null(config.Validate());
    }

    [Fact]
    public void TheVsockAndEntropyDevicesCountAmongThe31PciDevices()
    {
        var resources = WithKernel();
        string disk = PathOf("disk");
        File.WriteAllBytes(disk, new byte[512]);
        for (int i = 0; i < MachineConfig.MaximumPciDevices - 1; i++)
            resources.PutDrive(new DriveResource { DriveId = $"d{i}", PathOnHost = disk });
        resources.SetVsock(new VsockResource { GuestCid = 3, UdsPath = PathOf("v.sock") });
        // Replacing the vsock device takes no new slot; a new entropy device has none left.
        resources.SetVsock(new VsockResource { GuestCid = 4, UdsPath = PathOf("w.sock") });
        var e = Assert.Throws<ResourceConfigException>(() => resources.SetEntropy());
        Assert.Equal("the entropy device does not fit: at most 31 virtio devices fit on the PCI bus", e.Message);
        Assert.False(resources.Entropy);
    }
}
