using System.Buffers.Binary;
using Ember.Vmm.Boot;

namespace Ember.Vmm.Tests.Boot;

/// <summary>Multiboot v1 headers and kernels for tests.</summary>
internal static class MultibootImages
{
    public const uint KernelAddress = 0x20_0000;

    /// <summary>The 12-byte header, or 32 bytes with the a.out-kludge address fields.</summary>
    public static byte[] Header(uint flags, uint headerAddress = 0, uint loadAddress = 0, uint loadEnd = 0, uint bssEnd = 0, uint entry = 0)
    {
        bool address = (flags & MultibootHeader.FlagAddressFields) != 0;
        var bytes = new byte[address ? 32 : 12];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, MultibootHeader.Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), unchecked(0u - MultibootHeader.Magic - flags));
        if (address)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(12), headerAddress);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(16), loadAddress);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(20), loadEnd);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(24), bssEnd);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(28), entry);
        }
        return bytes;
    }

    /// <summary>Text segment: the multiboot header followed by recognisable code bytes.</summary>
    public static byte[] TextWithHeader(uint flags = MultibootHeader.FlagPageAlignModules | MultibootHeader.FlagMemoryInfo, int length = 0x400)
    {
        var text = new byte[length];
        for (int i = 0; i < text.Length; i++)
        {
            text[i] = (byte)(0x90 + i % 5);
        }
        Header(flags).CopyTo(text, 0);
        return text;
    }

    /// <summary>An ELF32 multiboot kernel: text at 2 MiB with the header, entry 0x10 bytes in, 0x3000 bytes of bss.</summary>
    public static ElfBuilder Elf32Kernel() =>
        new ElfBuilder(ElfClass.Elf32) { Entry = KernelAddress + 0x10 }
            .Load(KernelAddress, TextWithHeader(), memorySize: 0x400 + 0x3000);

    /// <summary>
    /// A raw (non-ELF) image with the a.out kludge: 0x40 bytes of padding, the header at file
    /// offset 0x40 loaded at <see cref="KernelAddress"/> + 0x40, 0x200 bytes of image, 0x1000 bss.
    /// </summary>
    public static byte[] AoutKludgeKernel(out uint entry, out uint loadEnd, out uint bssEnd)
    {
        const int headerOffset = 0x40;
        const int length = 0x200;
        entry = KernelAddress + 0x80;
        loadEnd = KernelAddress + length;
        bssEnd = loadEnd + 0x1000;
        var image = new byte[length];
        for (int i = 0; i < image.Length; i++)
        {
            image[i] = (byte)(0xA0 + i % 7);
        }
        Header(MultibootHeader.FlagAddressFields | MultibootHeader.FlagMemoryInfo,
                headerAddress: KernelAddress + headerOffset, loadAddress: KernelAddress,
                loadEnd: loadEnd, bssEnd: bssEnd, entry: entry)
            .CopyTo(image, headerOffset);
        return image;
    }
}
