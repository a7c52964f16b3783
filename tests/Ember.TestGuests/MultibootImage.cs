using System.Buffers.Binary;

namespace Ember.TestGuests;

/// <summary>
/// Builds a minimal multiboot v1 ELF32 kernel around 32-bit code assembled at <see cref="LoadAddress"/>:
/// an ELF header, one PT_LOAD program header, then the multiboot header followed by the code.
/// The entry point is the first instruction after the multiboot header.
/// </summary>
public static class MultibootImage
{
    public const uint LoadAddress = 0x10_0000;
    public const uint MultibootMagic = 0x1BAD_B002;
    private const int ElfHeaderSize = 52, ProgramHeaderSize = 32, MultibootHeaderSize = 12;
    private const int SegmentFileOffset = 0x1000;

    /// <summary>Where the code starts (and where it must be assembled for).</summary>
    public const uint CodeAddress = LoadAddress + MultibootHeaderSize;

    /// <param name="loadAddress">Where the image is linked: 1 MiB by default, 0x8000 like a real-mode era test kernel.</param>
    public static byte[] Build(Action<Iced.Intel.Assembler> emit, uint bssSize = 0, uint loadAddress = LoadAddress)
    {
        uint codeAddress = loadAddress + MultibootHeaderSize;
        byte[] code = GuestAssembler.Assemble(32, codeAddress, emit);
        int segmentSize = MultibootHeaderSize + code.Length;
        var image = new byte[SegmentFileOffset + segmentSize];
        var span = image.AsSpan();

        // ELF32 header (System V ABI, Intel 386 supplement).
        "\x7F"u8.CopyTo(span);
        "ELF"u8.CopyTo(span[1..]);
        span[4] = 1;  // ELFCLASS32
        span[5] = 1;  // little endian
        span[6] = 1;  // EV_CURRENT
        BinaryPrimitives.WriteUInt16LittleEndian(span[16..], 2);          // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(span[18..], 3);          // EM_386
        BinaryPrimitives.WriteUInt32LittleEndian(span[20..], 1);          // e_version
        BinaryPrimitives.WriteUInt32LittleEndian(span[24..], codeAddress); // e_entry
        BinaryPrimitives.WriteUInt32LittleEndian(span[28..], ElfHeaderSize); // e_phoff
        BinaryPrimitives.WriteUInt16LittleEndian(span[40..], ElfHeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(span[42..], ProgramHeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(span[44..], 1);          // e_phnum
        BinaryPrimitives.WriteUInt16LittleEndian(span[46..], 40);         // e_shentsize
        // Program header: PT_LOAD, RWX.
        var ph = span[ElfHeaderSize..];
        BinaryPrimitives.WriteUInt32LittleEndian(ph, 1);
        BinaryPrimitives.WriteUInt32LittleEndian(ph[4..], SegmentFileOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(ph[8..], loadAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(ph[12..], loadAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(ph[16..], (uint)segmentSize);
        BinaryPrimitives.WriteUInt32LittleEndian(ph[20..], (uint)segmentSize + bssSize);
        BinaryPrimitives.WriteUInt32LittleEndian(ph[24..], 7);
        BinaryPrimitives.WriteUInt32LittleEndian(ph[28..], 0x1000);
        // Multiboot header: magic, flags 0, checksum.
        var mb = span[SegmentFileOffset..];
        BinaryPrimitives.WriteUInt32LittleEndian(mb, MultibootMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(mb[4..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(mb[8..], unchecked(0u - MultibootMagic));
        code.CopyTo(mb[MultibootHeaderSize..]);
        return image;
    }

    /// <summary>Writes the image to a temporary file and returns its path.</summary>
    public static string WriteTemporary(Action<Iced.Intel.Assembler> emit, string name = "guest", uint loadAddress = LoadAddress)
    {
        string path = Path.Combine(Path.GetTempPath(), $"ember-{name}-{Environment.ProcessId}-{Guid.NewGuid():N}.elf");
        File.WriteAllBytes(path, Build(emit, loadAddress: loadAddress));
        return path;
    }
}
