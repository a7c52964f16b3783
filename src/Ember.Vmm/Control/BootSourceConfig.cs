using Ember.Sys;

namespace Ember.Vmm.Control;

/// <summary>The kernel to boot, its command line and initrd (Firecracker's BootSource).</summary>
public sealed record BootSourceConfig(string KernelImagePath, string? BootArgs = null, string? InitrdPath = null)
{
    /// <summary>The files must be readable regular files now, when the resource is set, not only at start.</summary>
    public void Validate()
    {
        ResourceFiles.RequireReadable("kernel_image_path", "kernel image", KernelImagePath);
        if (InitrdPath is not null)
            ResourceFiles.RequireReadable("initrd_path", "initrd", InitrdPath);
    }
}
