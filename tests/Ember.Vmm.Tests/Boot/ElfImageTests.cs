using Xunit;
using System.Buffers.Binary;
using Ember.Vmm.Boot;

namespace Ember.Vmm.Tests.Boot;

public class ElfImageTests
{
    private static ElfBuilder Simple(ElfClass elfClass) =>
        new ElfBuilder(elfClass) { Entry = 0x200000 }.Load(0x200000, new byte[64], memorySize: 128);

    [Theory]
    [InlineData(ElfClass.Elf64)]
    [InlineData(ElfClass.Elf32)]
    public void ParsesHeaderAndProgramHeaders(ElfClass elfClass)
    {
        var builder = Simple(elfClass);

        var image = ElfImage.Parse(builder.Build());

        Assert.Equal(elfClass, image.Class);
        Assert.Equal(0x200000UL, image.Entry);
        var header = Assert.Single(image.ProgramHeaders);
        Assert.Equal(ElfProgramHeader.TypeLoad, header.Type);
        Assert.Equal(0x200000UL, header.PhysicalAddress);
        Assert.Equal(64UL, header.FileSize);
        Assert.Equal(128UL, header.MemorySize);
        Assert.Equal((ulong)builder.DataOffset(0), header.Offset);
    }

    [Theory]
    [InlineData(ElfClass.Elf64)]
    [InlineData(ElfClass.Elf32)]
    public void ProgramHeaderTableOutOfFileBoundsIsRejected(ElfClass elfClass)
    {
        var builder = Simple(elfClass);
        var bytes = builder.Build();
        if (elfClass == ElfClass.Elf64)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(32), (ulong)bytes.Length - 8);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(28), (uint)bytes.Length - 8);
        }

        var ex = Assert.Throws<BootImageException>(() => ElfImage.Parse(bytes));
        Assert.Contains("program header table", ex.Message);
    }

    [Fact]
    public void ProgramHeaderTableOffsetNearUInt64MaxDoesNotWrap()
    {
        var bytes = Simple(ElfClass.Elf64).Build();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(32), ulong.MaxValue - 16);

        Assert.Throws<BootImageException>(() => ElfImage.Parse(bytes));
    }

    [Theory]
    [InlineData(ElfClass.Elf64)]
    [InlineData(ElfClass.Elf32)]
    public void SegmentFileRangeOutOfBoundsIsRejected(ElfClass elfClass)
    {
        var builder = Simple(elfClass);
        var bytes = builder.Build();
        int fileSize = builder.ProgramHeaderField(0, 32, 16);
        if (elfClass == ElfClass.Elf64)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(fileSize), 100_000);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(fileSize + 8), 100_000);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(fileSize), 100_000);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(fileSize + 4), 100_000);
        }

        var ex = Assert.Throws<BootImageException>(() => ElfImage.Parse(bytes));
        Assert.Contains("outside", ex.Message);
    }

    [Fact]
    public void SegmentOffsetPlusSizeOverflowIsRejected()
    {
        var builder = Simple(ElfClass.Elf64);
        var bytes = builder.Build();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(builder.ProgramHeaderField(0, 8, 4)), ulong.MaxValue - 8);

        Assert.Throws<BootImageException>(() => ElfImage.Parse(bytes));
    }

    [Fact]
    public void SegmentAddressPlusMemorySizeOverflowIsRejected()
    {
        var builder = Simple(ElfClass.Elf64);
        var bytes = builder.Build();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(builder.ProgramHeaderField(0, 40, 20)), ulong.MaxValue - 0x1000);

        var ex = Assert.Throws<BootImageException>(() => ElfImage.Parse(bytes));
        Assert.Contains("overflows", ex.Message);
    }

    [Fact]
    public void FileSizeLargerThanMemorySizeIsRejected()
    {
        var builder = new ElfBuilder(ElfClass.Elf32).Load(0x200000, new byte[64], memorySize: 32);

        Assert.Throws<BootImageException>(() => ElfImage.Parse(builder.Build()));
    }

    [Theory]
    [InlineData(4, (byte)3, "class")]          // EI_CLASS
    [InlineData(5, (byte)2, "little-endian")]  // EI_DATA big-endian
    [InlineData(6, (byte)0, "version")]        // EI_VERSION
    [InlineData(16, (byte)3, "ET_EXEC")]       // e_type ET_DYN
    [InlineData(18, (byte)40, "machine")]      // e_machine ARM
    [InlineData(54, (byte)40, "size")]         // e_phentsize
    [InlineData(56, (byte)0, "no program headers")]
    [InlineData(56, (byte)200, "program headers")]
    public void MalformedHeaderFieldsAreRejected(int offset, byte value, string messagePart)
    {
        var bytes = Simple(ElfClass.Elf64).Build();
        bytes[offset] = value;

        var ex = Assert.Throws<BootImageException>(() => ElfImage.Parse(bytes));
        Assert.Contains(messagePart, ex.Message);
    }

    [Fact]
    public void TruncatedHeadersAreRejected()
    {
        var bytes = Simple(ElfClass.Elf64).Build();

        Assert.Throws<BootImageException>(() => ElfImage.Parse(bytes[..60]));
        Assert.Throws<BootImageException>(() => ElfImage.Parse(bytes[..4]));
        Assert.Throws<BootImageException>(() => ElfImage.Parse(bytes[..70]));
    }

    [Fact]
    public void NotesAreParsedWithNameTypeAndDescriptor()
    {
        var builder = Simple(ElfClass.Elf64)
            .Note("GNU", 3, [1, 2, 3, 4, 5])
            .Note("Xen", 18, [0x40, 0, 0, 1, 0, 0, 0, 0]);

        var notes = ElfImage.Parse(builder.Build()).Notes();

        Assert.Equal(2, notes.Count);
        Assert.Equal(("GNU", 3U), (notes[0].Name, notes[0].Type));
        Assert.Equal([1, 2, 3, 4, 5], notes[0].Descriptor.ToArray());
        Assert.Equal(("Xen", 18U), (notes[1].Name, notes[1].Type));
        Assert.Equal(8, notes[1].Descriptor.Length);
    }

    [Fact]
    public void EightByteAlignedNotesArePaddedToEight()
    {
        // "Linux\0" is 6 bytes: the descriptor starts at 24 with 8-byte alignment (20 with 4).
        byte[] segment = [.. ElfBuilder.EncodeNote("Linux", 1, [1, 2, 3], align: 8), .. ElfBuilder.EncodeNote("Xen", 18, [0x40, 0, 0, 1], align: 8)];
        var builder = Simple(ElfClass.Elf64).RawNote(segment, align: 8);

        var notes = ElfImage.Parse(builder.Build()).Notes();

        Assert.Equal(2, notes.Count);
        Assert.Equal([1, 2, 3], notes[0].Descriptor.ToArray());
        Assert.Equal(("Xen", 18U), (notes[1].Name, notes[1].Type));
        Assert.Equal([0x40, 0, 0, 1], notes[1].Descriptor.ToArray());
    }

    [Fact]
    public void NoteRunningPastItsSegmentIsRejected()
    {
        var note = ElfBuilder.EncodeNote("Xen", 18, new byte[8]);
        BinaryPrimitives.WriteUInt32LittleEndian(note.AsSpan(4), 0xFFFF_FFF0); // descsz
        var image = ElfImage.Parse(Simple(ElfClass.Elf64).RawNote(note).Build());

        Assert.Throws<BootImageException>(() => image.Notes());
    }

    [Fact]
    public void VirtualEntryIsTranslatedThroughItsSegment()
    {
        var builder = new ElfBuilder(ElfClass.Elf64).Load(0x100_0000, new byte[0x100], virtualAddress: 0xFFFF_FFFF_8100_0000);
        var image = ElfImage.Parse(builder.Build());

        Assert.True(image.TryTranslateToPhysical(0xFFFF_FFFF_8100_0040, out ulong physical));
        Assert.Equal(0x100_0040UL, physical);
        Assert.False(image.TryTranslateToPhysical(0xFFFF_FFFF_8100_0100, out _));
    }
}
