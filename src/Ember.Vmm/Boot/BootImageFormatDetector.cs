namespace Ember.Vmm.Boot;

/// <summary>
/// Tells which loader a kernel file needs: "HdrS" at 0x202 is a bzImage; an ELF with a
/// XEN_ELFNOTE_PHYS32_ENTRY note is PVH (preferred when it also has a multiboot header, since
/// PVH passes the RSDP and a full memory map to Linux); an ELF or raw binary with a valid
/// multiboot header is Multiboot.
/// </summary>
public static class BootImageFormatDetector
{
    /// <exception cref="BootImageException">No supported format matches, or the ELF is malformed.</exception>
    public static BootImageFormat Detect(ReadOnlyMemory<byte> kernel)
    {
        var span = kernel.Span;
        if (BzImage.HasHeaderMagic(span))
        {
            return BootImageFormat.LinuxBzImage;
        }
        if (ElfImage.HasElfMagic(span))
        {
            var image = ElfImage.Parse(kernel);
            if (PvhBootLoader.TryFindEntryPoint(image, out _))
            {
                return BootImageFormat.Pvh;
            }
            if (MultibootHeader.TryFind(span, out _))
            {
                return BootImageFormat.Multiboot;
            }
            throw new BootImageException("ELF image has neither a PVH entry note nor a multiboot header");
        }
        if (MultibootHeader.TryFind(span, out var header) && header is { HasAddressFields: true })
        {
            return BootImageFormat.Multiboot;
        }
        throw new BootImageException("unrecognised kernel image: not a bzImage, ELF or multiboot binary");
    }

    /// <summary>The loader for a format.</summary>
    public static IBootLoader CreateLoader(BootImageFormat format) => format switch
    {
        BootImageFormat.LinuxBzImage => new LinuxBootLoader(),
        BootImageFormat.Pvh => new PvhBootLoader(),
        BootImageFormat.Multiboot => new MultibootLoader(),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown boot image format"),
    };

    /// <summary>Detects the format and returns its loader.</summary>
    public static IBootLoader CreateLoader(ReadOnlyMemory<byte> kernel) => CreateLoader(Detect(kernel));
}
