namespace Ember.Vmm.Images;

/// <summary>
/// The host files a default guest image is made from, located and checked.
/// </summary>
/// <param name="KernelPath">The bzImage to boot.</param>
/// <param name="KernelRelease">Its release, from the bzImage header or file name; null if neither says.</param>
/// <param name="BusyboxPath">A statically linked x86-64 busybox.</param>
/// <param name="ModulesDirectory">The kernel's modules directory, or null when building without modules.</param>
/// <param name="Modules">What to load, resolved against <paramref name="ModulesDirectory"/>.</param>
public sealed record GuestImageInputs(
    string KernelPath,
    string? KernelRelease,
    string BusyboxPath,
    string? ModulesDirectory,
    ModuleResolution Modules)
{
    /// <summary>The release the modules are installed under in the guest: the modules directory's name.</summary>
    public string? ModulesRelease => ModulesDirectory is null ? null : Path.GetFileName(ModulesDirectory);

    /// <summary>Finds and checks every input <paramref name="options"/> describes; throws <see cref="GuestImageException"/> saying what is missing.</summary>
    public static GuestImageInputs Locate(GuestImageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var explicitKernel = options.KernelPath is not null;
        string kernel;
        if (explicitKernel)
        {
            kernel = Path.GetFullPath(options.KernelPath!);
            if (!File.Exists(kernel))
                throw new GuestImageException($"Kernel '{kernel}' does not exist.");
        }
        else
        {
            kernel = KernelImage.FindNewestCloudKernel(options.BootDirectory)
                ?? throw new GuestImageException(
                    $"No {KernelImage.CloudKernelPattern} in {options.BootDirectory}; install Debian's linux-image-cloud-amd64 (apt-get install linux-image-cloud-amd64) or pass a kernel explicitly.");
        }
        var release = KernelImage.ReadRelease(kernel);

        var modulesDirectory = LocateModules(options, release, explicitKernel);
        var busybox = Path.GetFullPath(options.BusyboxPath);
        BusyboxBinary.EnsureStaticX86_64(busybox);

        var resolution = modulesDirectory is null
            ? new ModuleResolution([], [])
            : KernelModuleResolver.Load(modulesDirectory).Resolve(options.Modules);
        return new GuestImageInputs(kernel, release, busybox, modulesDirectory, resolution);
    }

    private static string? LocateModules(GuestImageOptions options, string? release, bool explicitKernel)
    {
        string? directory;
        if (options.ModulesDirectory is not null)
        {
            directory = Path.TrimEndingDirectorySeparator(Path.GetFullPath(options.ModulesDirectory));
            if (!Directory.Exists(directory))
                throw new GuestImageException($"Modules directory '{directory}' does not exist.");
        }
        else
        {
            directory = release is null
                ? null
                : options.ModuleSearchRoots.Select(root => Path.Combine(root, release)).FirstOrDefault(Directory.Exists);
            if (directory is null && !explicitKernel)
            {
                throw new GuestImageException(
                    $"No modules directory for kernel {release ?? "(unknown release)"} under {string.Join(" or ", options.ModuleSearchRoots)}; " +
                    "reinstall the kernel package (apt-get install --reinstall linux-image-cloud-amd64).");
            }
        }
        // Modules built for another release fail the kernel's vermagic check at insmod; say so now.
        if (directory is not null && release is not null && Path.GetFileName(directory) != release)
            throw new GuestImageException($"Modules directory '{directory}' is not for kernel release {release}.");
        return directory;
    }
}
