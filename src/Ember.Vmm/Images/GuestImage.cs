namespace Ember.Vmm.Images;

/// <summary>A bootable default guest: a kernel, the initramfs Ember built for it, and the command line to boot them with.</summary>
/// <param name="KernelPath">The bzImage.</param>
/// <param name="InitrdPath">The uncompressed newc initramfs in the cache.</param>
/// <param name="CommandLine">
/// <see cref="DefaultGuestImage.DefaultCommandLine"/>; append a <see cref="GuestCommand.ToKernelArgument"/>
/// to run a command instead of the interactive shell.
/// </param>
/// <param name="KernelRelease">The kernel's release string, when the image or its file name says.</param>
/// <param name="Modules">Names of the modules /init loads, in load order.</param>
/// <param name="BuiltInModules">Requested modules the kernel has built in.</param>
/// <param name="FromCache">True when the initramfs was already in the cache and was not rebuilt.</param>
/// <param name="CpuidMask">
/// CPUID features to hide from this guest (<see cref="Machine.MachineConfig.CpuidMask"/>): on a software KVM,
/// <see cref="DefaultGuestImage.SoftwareKvmCpuidMask"/>; none on hardware KVM.
/// </param>
public sealed record GuestImage(
    string KernelPath,
    string InitrdPath,
    string CommandLine,
    string? KernelRelease,
    IReadOnlyList<string> Modules,
    IReadOnlyList<string> BuiltInModules,
    bool FromCache,
    IReadOnlyList<string> CpuidMask);
