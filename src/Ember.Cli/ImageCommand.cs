using System.CommandLine;
using Ember.Sys;
using Ember.Vmm.Boot;
using Ember.Vmm.Images;

namespace Ember.Cli;

/// <summary>`ember image build`: build (or reuse from the cache) the default guest's initramfs and print where it is.</summary>
internal static class ImageCommand
{
    /// <summary>A bzImage larger than this is not one (Linux's own limit is far below it); nothing bigger is read.</summary>
    private const long MaxBzImageBytes = 512L << 20;

    public static Command Build()
    {
        var kernel = new Option<string?>("--kernel") { Description = "Kernel to build for (default: the newest /boot/vmlinuz-*-cloud-amd64)." };
        var build = new Command("build", "Build the default guest: Debian's cloud kernel plus an initramfs with busybox and the virtio modules.");
        build.Options.Add(kernel);
        build.SetAction(result =>
        {
            try
            {
                var image = DefaultGuestImage.Build(new GuestImageOptions { KernelPath = result.GetValue(kernel), SoftwareKvm = Ember.Vmm.Host.KvmHostReport.DetectFlavour("/sys/module") == Ember.Vmm.Host.KvmFlavour.SoftwarePvm });
                Console.WriteLine($"kernel:   {image.KernelPath}");
                Console.WriteLine($"initrd:   {image.InitrdPath}{(image.FromCache ? " (cached)" : "")}");
                Console.WriteLine($"cmdline:  {image.CommandLine}");
                Console.WriteLine($"modules:  {image.Modules.Count} loadable, {image.BuiltInModules.Count} built in");
                return 0;
            }
            catch (GuestImageException e)
            {
                UserMessages.Error(e.Message);
                return ExitStatus.UsageError;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                UserMessages.Error($"cannot build the default guest: {UserMessages.Describe(e)}");
                return ExitStatus.UsageError;
            }
        });
        var bzImage = new Argument<string>("bzimage") { Description = "The bzImage to unpack." };
        var output = new Option<string>("--output", "-o") { Description = "Where to write the ELF vmlinux.", Required = true };
        var vmlinux = new Command("vmlinux", "Extract the ELF vmlinux (with its PVH entry) from a bzImage's compressed payload.");
        vmlinux.Arguments.Add(bzImage);
        vmlinux.Options.Add(output);
        vmlinux.SetAction(result =>
        {
            string input = result.GetValue(bzImage)!;
            string target = result.GetValue(output)!;
            if (string.IsNullOrWhiteSpace(target))
            {
                UserMessages.Error("-o needs a file name to write the vmlinux to");
                return ExitStatus.UsageError;
            }
            var (kind, size) = HostFile.Inspect(input);
            if (kind != HostFileKind.Regular)
            {
                UserMessages.Error($"{input} is not a readable regular file");
                return ExitStatus.UsageError;
            }
            if (size > MaxBzImageBytes)
            {
                UserMessages.Error($"{input} is {size >> 20} MiB; a bzImage is at most {MaxBzImageBytes >> 20} MiB");
                return ExitStatus.UsageError;
            }
            byte[] elf;
            try
            {
                elf = KernelPayload.TryExtractVmlinux(File.ReadAllBytes(input)) ?? [];
            }
            catch (BootImageException e)
            {
                UserMessages.Error(e.Message);
                return ExitStatus.UsageError;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                UserMessages.Error($"cannot read {input}: {UserMessages.Describe(e)}");
                return ExitStatus.UsageError;
            }
            if (elf.Length == 0)
            {
                UserMessages.Error("the payload is not a gzip, LZ4 or zstd compressed ELF vmlinux");
                return ExitStatus.UsageError;
            }
            try
            {
                File.WriteAllBytes(target, elf);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                UserMessages.Error($"cannot write {target}: {(e is ArgumentException ? "not a valid file name" : UserMessages.Describe(e))}");
                return ExitStatus.UsageError;
            }
            Console.WriteLine($"{target}: {elf.Length} bytes");
            return ExitStatus.Success;
        });
        var image = new Command("image", "Guest images.");
        image.Subcommands.Add(build);
        image.Subcommands.Add(vmlinux);
        return image;
    }
}
