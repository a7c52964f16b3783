using System.Buffers.Binary;

namespace Ember.Vmm.Boot;

/// <summary>
/// A Multiboot v1 header (Multiboot Specification 0.6.96 §3.1 "OS image format"): magic
/// 0x1BADB002, flags and checksum, 32-bit aligned within the first 8192 bytes of the image,
/// followed by the a.out-kludge address fields when flag bit 16 is set.
/// </summary>
/// <param name="FileOffset">Where in the file the header (its magic) starts.</param>
public sealed record MultibootHeader(
    int FileOffset,
    uint Flags,
    uint HeaderAddress,
    uint LoadAddress,
    uint LoadEndAddress,
    uint BssEndAddress,
    uint EntryAddress)
{
    public const uint Magic = 0x1BAD_B002;

    /// <summary>The header must lie wholly within the first 8192 bytes (§3.1.1).</summary>
    public const int SearchLimit = 8192;

    public const int Alignment = 4;

    /// <summary>Bit 0: boot modules must be page (4 KiB) aligned. We always align them.</summary>
    public const uint FlagPageAlignModules = 1u << 0;

    /// <summary>Bit 1: mem_* fields must be provided. We always provide them and a full memory map.</summary>
    public const uint FlagMemoryInfo = 1u << 1;

    /// <summary>Bit 2: video mode table wanted. Understood, but no framebuffer exists to describe; info bit 11 stays clear.</summary>
    public const uint FlagVideoMode = 1u << 2;

    /// <summary>Bit 16: the address fields at offsets 12-28 are valid and replace the executable's own headers.</summary>
    public const uint FlagAddressFields = 1u << 16;

    /// <summary>Bits 0-15 are requirements; a loader must refuse an image that sets one it does not understand (§3.1.2).</summary>
    public const uint RequiredFlagsMask = 0xFFFF;

    private const uint UnderstoodRequiredFlags = FlagPageAlignModules | FlagMemoryInfo | FlagVideoMode;
    private const int BaseHeaderSize = 12;
    private const int AddressHeaderSize = 32;

    public bool HasAddressFields => (Flags & FlagAddressFields) != 0;

    /// <summary>
    /// Scans for a header whose checksum is valid. Returns false when none is found; a magic
    /// with a bad checksum is skipped as the spec's "magic number plus checksum" rule implies.
    /// </summary>
    /// <exception cref="BootImageException">A valid header asks for an unsupported required feature or is cut off.</exception>
    public static bool TryFind(ReadOnlySpan<byte> image, out MultibootHeader? header)
    {
        int limit = Math.Min(image.Length, SearchLimit);
        for (int offset = 0; offset + BaseHeaderSize <= limit; offset += Alignment)
        {
            uint magic = U32(image, offset);
            if (magic != Magic)
            {
                continue;
            }
            uint flags = U32(image, offset + 4);
            uint checksum = U32(image, offset + 8);
            if (unchecked(magic + flags + checksum) != 0)
            {
                continue;
            }

            uint unsupported = flags & RequiredFlagsMask & ~UnderstoodRequiredFlags;
            if (unsupported != 0)
            {
                throw new BootImageException($"multiboot header requires features 0x{unsupported:x} that Ember does not provide");
            }
            if ((flags & FlagAddressFields) == 0)
            {
                header = new MultibootHeader(offset, flags, 0, 0, 0, 0, 0);
                return true;
            }
            if (offset + AddressHeaderSize > image.Length)
            {
                throw new BootImageException("multiboot header with address fields is cut off by the end of the file");
            }
            header = new MultibootHeader(offset, flags,
                HeaderAddress: U32(image, offset + 12),
                LoadAddress: U32(image, offset + 16),
                LoadEndAddress: U32(image, offset + 20),
                BssEndAddress: U32(image, offset + 24),
                EntryAddress: U32(image, offset + 28));
            return true;
        }
        header = null;
        return false;
    }

    private static uint U32(ReadOnlySpan<byte> span, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(span[offset..]);
}
