namespace Ember.Vmm.Tests.Images;

/// <summary>
/// A made-up /usr/lib/modules/&lt;release&gt; with the shape of Debian's: virtio_net needing
/// net_failover, failover, virtio and virtio_ring, compressed modules, a '-' in a file name, and
/// built-in drivers. Module files hold their own relative path, so tests can tell them apart.
/// </summary>
internal sealed class SyntheticModulesTree : IDisposable
{
    public const string Release = "9.9.9-1-cloud-amd64";

    public const string Dependencies = """
        kernel/drivers/virtio/virtio_ring.ko:
        kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
        kernel/net/core/failover.ko:
        kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
        kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
        kernel/drivers/block/virtio_blk.ko.xz: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
        kernel/drivers/char/hw_random/virtio-rng.ko.zst: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
        kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko

        """;

    public const string BuiltIn = """
        kernel/drivers/virtio/virtio_pci.ko
        kernel/drivers/char/virtio_console.ko
        kernel/net/vmw_vsock/vmw_vsock_virtio_transport.ko
        """;

    private readonly TempDirectory _temp = new("ember-modules-");

    public SyntheticModulesTree(string dependencies = Dependencies, string? builtIn = BuiltIn, bool createModuleFiles = true)
    {
        Directory = _temp.Combine("lib", "modules", Release);
        System.IO.Directory.CreateDirectory(Directory);
        File.WriteAllText(Path.Combine(Directory, "modules.dep"), dependencies);
        if (builtIn is not null)
            File.WriteAllText(Path.Combine(Directory, "modules.builtin"), builtIn);
        if (!createModuleFiles)
            return;
        foreach (var line in dependencies.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            WriteModule(line[..line.IndexOf(':')]);
    }

    /// <summary>The modules directory, named after <see cref="Release"/>.</summary>
    public string Directory { get; }

    /// <summary>The directory holding it, as a module search root.</summary>
    public string SearchRoot => Path.GetDirectoryName(Directory)!;

    public string TempPath => _temp.Path;

    public void WriteModule(string relativePath)
    {
        var path = Path.Combine(Directory, relativePath);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "module " + relativePath);
    }

    public void Dispose() => _temp.Dispose();
}
