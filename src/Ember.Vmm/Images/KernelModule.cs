namespace Ember.Vmm.Images;

/// <summary>
/// A loadable kernel module as modules.dep describes it.
/// </summary>
/// <param name="Name">The module name as the kernel knows it: file name without ".ko[.xz|.zst|.gz]", '-' read as '_' (virtio-rng.ko is "virtio_rng").</param>
/// <param name="RelativePath">Path relative to the modules directory, as in modules.dep (e.g. "kernel/drivers/net/virtio_net.ko").</param>
/// <param name="FullPath">The file on the host.</param>
/// <param name="Dependencies">Relative paths of the modules it needs, in modules.dep order (which lists all of them, transitively).</param>
public sealed record KernelModule(string Name, string RelativePath, string FullPath, IReadOnlyList<string> Dependencies)
{
    /// <summary>How the module file is compressed, from its extension; the guest must decompress anything but <see cref="KernelModuleCompression.None"/>.</summary>
    public KernelModuleCompression Compression => KernelModuleResolver.CompressionOf(RelativePath);
}
