using Ember.Vmm.Images;

namespace Ember.Vmm.Tests.Images;

public sealed class KernelModuleResolverTests
{
    [Fact]
    public void DependenciesComeFirstInModprobeOrder()
    {
        using var tree = new SyntheticModulesTree();
        var resolution = KernelModuleResolver.Load(tree.Directory).Resolve(["virtio_net"]);

        Assert.Equal(["virtio_ring", "virtio", "failover", "net_failover", "virtio_net"], resolution.LoadOrder.Select(m => m.Name));
        Assert.Empty(resolution.BuiltIn);
        var net = resolution.LoadOrder[^1];
        Assert.Equal("kernel/drivers/net/virtio_net.ko", net.RelativePath);
        Assert.Equal(Path.Combine(tree.Directory, "kernel/drivers/net/virtio_net.ko"), net.FullPath);
        Assert.Equal(4, net.Dependencies.Count);
        Assert.Equal(KernelModuleCompression.None, net.Compression);
    }

    [Fact]
    public void EachModuleIsLoadedOnceAcrossRequests()
    {
        using var tree = new SyntheticModulesTree();
        var order = KernelModuleResolver.Load(tree.Directory).Resolve(["virtio_net", "virtio_blk", "virtio_net", "virtio_mmio"]).LoadOrder;

        Assert.Equal(["virtio_ring", "virtio", "failover", "net_failover", "virtio_net", "virtio_blk", "virtio_mmio"], order.Select(m => m.Name));
        AssertDependenciesPrecede(order);
    }

    [Fact]
    public void OrderFollowsTheDependencyLinesNotTheListOrder()
    {
        // Here the list names virtio_ring before virtio, the reverse of what depmod writes; virtio's
        // own line still puts virtio_ring first.
        using var tree = new SyntheticModulesTree("""
            kernel/a/virtio_ring.ko:
            kernel/a/virtio.ko: kernel/a/virtio_ring.ko
            kernel/a/user.ko: kernel/a/virtio_ring.ko kernel/a/virtio.ko
            """);
        var order = KernelModuleResolver.Load(tree.Directory).Resolve(["user"]).LoadOrder;

        Assert.Equal(["virtio_ring", "virtio", "user"], order.Select(m => m.Name));
    }

    [Theory]
    [InlineData("virtio_rng")]
    [InlineData("virtio-rng")]
    [InlineData("virtio-rng.ko.zst")]
    public void DashAndUnderscoreAreTheSameAndExtensionsAreRecognised(string requested)
    {
        using var tree = new SyntheticModulesTree();
        var rng = KernelModuleResolver.Load(tree.Directory).Resolve([requested]).LoadOrder[^1];

        Assert.Equal("virtio_rng", rng.Name);
        Assert.Equal("kernel/drivers/char/hw_random/virtio-rng.ko.zst", rng.RelativePath);
        Assert.Equal(KernelModuleCompression.Zstd, rng.Compression);
    }

    [Fact]
    public void CompressedModulesKeepTheirPathAndCompression()
    {
        using var tree = new SyntheticModulesTree();
        var blk = KernelModuleResolver.Load(tree.Directory).Resolve(["virtio_blk"]).LoadOrder[^1];

        Assert.Equal("virtio_blk", blk.Name);
        Assert.Equal(KernelModuleCompression.Xz, blk.Compression);
    }

    [Fact]
    public void BuiltInModulesAreReportedNotLoaded()
    {
        using var tree = new SyntheticModulesTree();
        var resolution = KernelModuleResolver.Load(tree.Directory).Resolve(["virtio_pci", "virtio_console", "virtio_net", "virtio_pci"]);

        Assert.Equal(["virtio_pci", "virtio_console"], resolution.BuiltIn);
        Assert.DoesNotContain(resolution.LoadOrder, m => m.Name is "virtio_pci" or "virtio_console");
        Assert.Equal("virtio_net", resolution.LoadOrder[^1].Name);
    }

    [Fact]
    public void AMissingModuleIsAnErrorNamingEveryMissingOne()
    {
        using var tree = new SyntheticModulesTree();
        var resolver = KernelModuleResolver.Load(tree.Directory);

        var error = Assert.Throws<GuestImageException>(() => resolver.Resolve(["virtio_net", "virtio_gpu", "nosuchmod"]));

        Assert.Contains("virtio_gpu", error.Message);
        Assert.Contains("nosuchmod", error.Message);
        Assert.Contains("modules.dep", error.Message);
    }

    [Fact]
    public void WithoutModulesBuiltinNothingIsBuiltIn()
    {
        using var tree = new SyntheticModulesTree(builtIn: null);
        var resolver = KernelModuleResolver.Load(tree.Directory);

        Assert.Throws<GuestImageException>(() => resolver.Resolve(["virtio_pci"]));
        Assert.Equal(5, resolver.Resolve(["virtio_net"]).LoadOrder.Count);
    }

    [Fact]
    public void AMissingModulesDepIsAClearError()
    {
        using var temp = new TempDirectory();
        var error = Assert.Throws<GuestImageException>(() => KernelModuleResolver.Load(temp.Path));
        Assert.Contains("depmod", error.Message);
    }

    [Fact]
    public void AListedModuleMissingOnDiskIsAnError()
    {
        using var tree = new SyntheticModulesTree(createModuleFiles: false);
        tree.WriteModule("kernel/drivers/net/virtio_net.ko");
        var error = Assert.Throws<GuestImageException>(() => KernelModuleResolver.Load(tree.Directory).Resolve(["virtio_net"]));
        Assert.Contains("virtio_ring.ko", error.Message); // The first one needed.
    }

    [Fact]
    public void ADependencyCycleIsAnError()
    {
        using var tree = new SyntheticModulesTree("""
            kernel/a.ko: kernel/b.ko
            kernel/b.ko: kernel/a.ko
            """);
        var error = Assert.Throws<GuestImageException>(() => KernelModuleResolver.Load(tree.Directory).Resolve(["a"]));
        Assert.Contains("cycle", error.Message);
    }

    [Fact]
    public void AbsolutePathsInsideTheDirectoryAreAcceptedAndOthersRefused()
    {
        using var inside = new SyntheticModulesTree("placeholder.ko:\n");
        File.WriteAllText(Path.Combine(inside.Directory, "modules.dep"), $"{inside.Directory}/kernel/x.ko:\n");
        inside.WriteModule("kernel/x.ko");
        Assert.Equal("kernel/x.ko", Assert.Single(KernelModuleResolver.Load(inside.Directory).Resolve(["x"]).LoadOrder).RelativePath);

        File.WriteAllText(Path.Combine(inside.Directory, "modules.dep"), "/etc/shadow.ko:\n");
        Assert.Throws<GuestImageException>(() => KernelModuleResolver.Load(inside.Directory));
        File.WriteAllText(Path.Combine(inside.Directory, "modules.dep"), "kernel/../../../etc/x.ko:\n");
        Assert.Throws<GuestImageException>(() => KernelModuleResolver.Load(inside.Directory));
        File.WriteAllText(Path.Combine(inside.Directory, "modules.dep"), "no colon here\n");
        Assert.Throws<GuestImageException>(() => KernelModuleResolver.Load(inside.Directory));
    }

    [Fact]
    public void TheReleaseIsTheDirectoryName()
    {
        using var tree = new SyntheticModulesTree();
        var resolver = KernelModuleResolver.Load(tree.Directory + "/");
        Assert.Equal(SyntheticModulesTree.Release, resolver.KernelRelease);
        Assert.Equal(8, resolver.ModuleCount);
    }

    [Fact]
    public void TheInstalledCloudKernelsVirtioModulesResolve()
    {
        var kernel = KernelImage.FindNewestCloudKernel("/boot");
        Assert.SkipWhen(kernel is null, "linux-image-cloud-amd64 is not installed.");
        var release = KernelImage.ReadRelease(kernel!)!;
        var directory = new[] { "/usr/lib/modules", "/lib/modules" }.Select(r => Path.Combine(r, release)).FirstOrDefault(Directory.Exists);
        Assert.SkipWhen(directory is null, $"No modules directory for {release}.");

        var resolution = KernelModuleResolver.Load(directory!).Resolve(DefaultGuestImage.DefaultModules);

        var loaded = resolution.LoadOrder.Select(m => m.Name).ToList();
        Assert.Equal(DefaultGuestImage.DefaultModules.Count, loaded.Intersect(DefaultGuestImage.DefaultModules).Count() + resolution.BuiltIn.Count);
        AssertDependenciesPrecede(resolution.LoadOrder);
        Assert.Equal(loaded.Count, loaded.Distinct().Count());
        Assert.All(resolution.LoadOrder, m => Assert.True(File.Exists(m.FullPath), m.FullPath));
    }

    private static void AssertDependenciesPrecede(IReadOnlyList<KernelModule> order)
    {
        var seen = new HashSet<string>();
        foreach (var module in order)
        {
            Assert.All(module.Dependencies, d => Assert.Contains(d, seen));
            seen.Add(module.RelativePath);
        }
    }
}
