namespace Ember.Vmm.Images;

/// <summary>Where <see cref="DefaultGuestImage.Build"/> looks for its inputs and puts its output. The defaults fit a Debian host.</summary>
public sealed record GuestImageOptions
{
    /// <summary>
    /// A kernel to use instead of the newest Debian cloud kernel in <see cref="BootDirectory"/>.
    /// With an explicit kernel a missing modules directory is not an error: the image is built
    /// without modules, on the assumption that the kernel has its drivers built in.
    /// </summary>
    public string? KernelPath { get; init; }

    public string BootDirectory { get; init; } = "/boot";

    public string BusyboxPath { get; init; } = BusyboxBinary.DefaultPath;

    /// <summary>The kernel's modules directory; by default the first of <see cref="ModuleSearchRoots"/>/&lt;release&gt; that exists.</summary>
    public string? ModulesDirectory { get; init; }

    /// <summary>Debian installs modules under /usr/lib/modules (merged /usr) and /lib/modules on older systems.</summary>
    public IReadOnlyList<string> ModuleSearchRoots { get; init; } = ["/usr/lib/modules", "/lib/modules"];

    /// <summary>Modules to load in the guest, by name; dependencies are added, built-in ones skipped.</summary>
    public IReadOnlyList<string> Modules { get; init; } = DefaultGuestImage.DefaultModules;

    /// <summary>The host is a software KVM (kvm_pvm): the command line gets <see cref="DefaultGuestImage.SoftwareKvmCommandLine"/>.</summary>
    public bool SoftwareKvm { get; init; }

    /// <summary>Where built images are kept; by default <see cref="GuestImageCache.DefaultDirectory()"/>.</summary>
    public string? CacheDirectory { get; init; }
}
