using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ember.Vmm.Images;

/// <summary>
/// The guest `ember run` boots when given no kernel: Debian's linux-image-cloud-amd64 kernel with
/// an initramfs Ember builds from busybox-static, the kernel's virtio modules and a small /init
/// (<see cref="GuestInitScript"/>), cached by <see cref="GuestImageCache"/>.
/// Host packages it relies on: linux-image-cloud-amd64, busybox-static (cpio only for tests).
/// </summary>
public static class DefaultGuestImage
{
    /// <summary>Part of the cache key; bump it whenever <see cref="InitramfsLayout"/> or the archive format changes.</summary>
    public const int BuilderVersion = 1;

    /// <summary>
    /// Boot parameters for Ember's microVM (Linux Documentation/admin-guide/kernel-parameters.txt):
    /// a 16550 at COM1, the 8042 for reset, no keyboard or mouse. PCI is found through ACPI (PCI0, MCFG).
    /// </summary>
    public const string DefaultCommandLine =
        // Kernel messages and /dev/console on the first 16550 (COM1), Ember's only console.
        "console=ttyS0 " +
        // Register one legacy UART instead of probing four (Debian's CONFIG_SERIAL_8250_RUNTIME_UARTS):
        // each probe of an absent port is a run of port I/O exits for nothing.
        "8250.nr_uarts=1 " +
        // Reboot by pulsing the CPU reset line through the 8042 (command 0xFE), which Ember's
        // I8042Controller reports as ResetRequested; a microVM monitor ends the VM there.
        "reboot=k " +
        // On a panic (for one, init exiting) reboot after 1 s rather than hang, so the VM always ends.
        "panic=1 " +
        // The 8042 has no mouse attached: do not probe the AUX port ...
        "i8042.noaux " +
        // ... nor look for an active-multiplexing controller (several AUX ports) ...
        "i8042.nomux " +
        // ... nor ask ACPI/PnP where the controller is (nothing describes it); use the fixed ports 0x60/0x64 ...
        "i8042.nopnp " +
        // ... and treat the keyboard as one that cannot be controlled: no LED updates, no waits for ACKs
        // from a keyboard that does not exist (Ember's 8042 drops bytes sent to the keyboard).
        "i8042.dumbkbd";

    /// <summary>
    /// Added on a software KVM (kvm_pvm), whose emulator runs the guest kernel: `clearcpuid=` keeps the kernel
    /// from patching in popcnt (its alternatives) and from using SMAP's clac/stac at every user access, which
    /// the emulator lacks and CPUID masking cannot hide there (docs/host-quirks.md); `noxsave` keeps it on
    /// fxsave, since xsave is not emulated either. `nosoftlockup`: kernel code runs at a few million instructions
    /// a second there, so the soft-lockup watchdog fires during ordinary boot work and only adds noise.
    /// Nothing of this is added on hardware KVM.
    /// </summary>
    public const string SoftwareKvmCommandLine = "clearcpuid=popcnt,smap noxsave nosoftlockup";

    /// <summary>
    /// CPUID features hidden on a software KVM: without cx16 the kernel takes no `lock cmpxchg16b`, which that
    /// emulator fails on before the console is even up (the kernel then prints nothing at all); KVM emulates
    /// the cx16 bit, so masking it works there. xsave stays visible whatever the mask (docs/host-quirks.md),
    /// which is why the command line also says `noxsave`.
    /// </summary>
    public static readonly IReadOnlyList<string> SoftwareKvmCpuidMask = ["cx16", "xsave"];

    /// <summary>
    /// The drivers the guest loads: virtio transports and the device drivers Ember offers. Whatever
    /// the kernel has built in is skipped; dependencies (virtio, virtio_ring, vsock, failover, ...) follow.
    /// Note Debian's cloud kernel has CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES off, so virtio-mmio devices must
    /// be described by ACPI (DSDT device with _HID "LNRO0005") rather than virtio_mmio.device= parameters.
    /// </summary>
    public static readonly IReadOnlyList<string> DefaultModules =
    [
        "virtio_mmio",                 // virtio over MMIO: the transport while Ember has no PCI
        "virtio_pci",                  // virtio over PCI, for when it has
        "virtio_blk",                  // disks (/dev/vda, ...)
        "virtio_net",                  // network interfaces
        "virtio_rng",                  // entropy from the host (/dev/hwrng); the file is virtio-rng.ko
        "virtio_console",              // hvc consoles and serial ports
        "vmw_vsock_virtio_transport",  // AF_VSOCK host <-> guest sockets
    ];

    /// <summary>
    /// Locates the inputs, and returns the cached image for them or builds it. Throws
    /// <see cref="GuestImageException"/> when an input is missing, with what to install.
    /// </summary>
    public static GuestImage Build(GuestImageOptions? options = null, ILogger? logger = null)
    {
        options ??= new GuestImageOptions();
        logger ??= NullLogger.Instance;

        var inputs = GuestImageInputs.Locate(options);
        var initScript = GuestInitScript.Generate(inputs.ModulesRelease, inputs.Modules.LoadOrder);
        var cacheDirectory = options.CacheDirectory ?? GuestImageCache.DefaultDirectory();
        var key = GuestImageCache.ComputeKey(inputs, initScript, BuilderVersion);
        var path = GuestImageCache.ImagePath(cacheDirectory, inputs.KernelRelease, key);

        var fromCache = GuestImageCache.IsComplete(path);
        if (fromCache)
        {
            logger.LogDebug("Using cached guest initramfs {Path}", path);
        }
        else
        {
            logger.LogInformation("Building guest initramfs {Path} for kernel {Kernel} ({ModuleCount} modules)", path, inputs.KernelPath, inputs.Modules.LoadOrder.Count);
            BusyboxBinary.EnsureApplets(inputs.BusyboxPath, GuestInitScript.Applets);
            GuestImageCache.WriteAtomically(path, stream => InitramfsLayout.Write(stream, inputs, initScript));
        }
        return new GuestImage(
            inputs.KernelPath,
            path,
            options.SoftwareKvm ? $"{DefaultCommandLine} {SoftwareKvmCommandLine}" : DefaultCommandLine,
            inputs.KernelRelease,
            inputs.Modules.LoadOrder.Select(m => m.Name).ToList(),
            inputs.Modules.BuiltIn,
            fromCache,
            options.SoftwareKvm ? SoftwareKvmCpuidMask : []);
    }
}
