using System.CommandLine;
using Ember.Vmm.Boot;
using Ember.Vmm.Images;

namespace Ember.Cli;

/// <summary>`ember image build`: build (or reuse from the cache) the default guest's initramfs and print where it is.</summary>
internal static class ImageCommand
{
    public static Command Build()
    {
        var kernel = new Option<string?>("--kernel") { Description = "Kernel to build for (default: the newest /boot/vmlinuz-*-cloud-amd64)." };
        var build = new Command("build", "Build the default guest: Debian's cloud kernel plus an initramfs with busybox and the virtio modules.");
        build.Options.Add(kernel);
        build.SetAction(result =>
        {
            try
            {
                var image = DefaultGuestImage.Build(new GuestImageOptions { KernelPath = result.GetValue(kernel) });
                Console.WriteLine($"kernel:   {image.KernelPath}");
                Console.WriteLine($"initrd:   {image.InitrdPath}{(image.FromCache ? " (cached)" : "")}");
                Console.WriteLine($"cmdline:  {image.CommandLine}");
                Console.WriteLine($"modules:  {image.Modules.Count} loadable, {image.BuiltInModules.Count} built in");
                return 0;
            }
            catch (Exception e) when (e is GuestImageException or IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"ember: error: {e.Message}");
                return 2;
            }
        });
        var bzImage = new Argument<string>("bzimage") { Description = "The bzImage to unpack." };
        var output = new Option<string>("--output", "-o") { Description = "Where to write the ELF vmlinux.", Required = true };
        var vmlinux = new Command("vmlinux", "Extract the ELF vmlinux (with its PVH entry) from a bzImage's compressed payload.");
        vmlinux.Arguments.Add(bzImage);
        vmlinux.Options.Add(output);
        vmlinux.SetAction(result =>
        {
            try
            {
                byte[]? elf = KernelPayload.TryExtractVmlinux(File.ReadAllBytes(result.GetValue(bzImage)!));
                if (elf is null)
                {
                    Console.Error.WriteLine("ember: error: the payload is not a gzip, LZ4 or zstd compressed ELF vmlinux");
                    return 2;
                }
                File.WriteAllBytes(result.GetValue(output)!, elf);
                Console.WriteLine($"{result.GetValue(output)}: {elf.Length} bytes");
                return 0;
            }
            catch (Exception e) when (e is BootImageException or IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"ember: error: {e.Message}");
                return 2;
            }
        });
        var image = new Command("image", "Guest images.");
        image.Subcommands.Add(build);
        image.Subcommands.Add(vmlinux);
        return image;
    }
}
