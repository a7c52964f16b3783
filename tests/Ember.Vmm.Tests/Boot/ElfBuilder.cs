using System.Buffers.Binary;
using System.Text;
using Ember.Vmm.Boot;

namespace Ember.Vmm.Tests.Boot;

/// <summary>Synthesises small little-endian x86 ELF executables with PT_LOAD and PT_NOTE segments.</summary>
internal sealed class ElfBuilder(ElfClass elfClass)
{
    private sealed record Segment(uint Type, ulong PhysicalAddress, ulong VirtualAddress, byte[] Data, ulong MemorySize, ulong Align);

    private readonly List<Segment> _segments = [];

    public ElfClass Class { get; } = elfClass;
    public ulong Entry { get; set; }
    public ushort? Machine { get; set; }

    private bool Is64 => Class == ElfClass.Elf64;
    public int HeaderSize => Is64 ? 64 : 52;
    public int ProgramHeaderSize => Is64 ? 56 : 32;

    /// <summary>File offset of the program header table.</summary>
    public int ProgramHeaderOffset => HeaderSize;

    public ElfBuilder Load(ulong physicalAddress, byte[] data, ulong? memorySize = null, ulong? virtualAddress = null)
    {
        _segments.Add(new Segment(ElfProgramHeader.TypeLoad, physicalAddress, virtualAddress ?? physicalAddress, data, memorySize ?? (ulong)data.Length, 0x1000));
        return this;
    }

    public ElfBuilder Note(string name, uint type, byte[] descriptor, ulong align = 4)
    {
        _segments.Add(new Segment(ElfProgramHeader.TypeNote, 0, 0, EncodeNote(name, type, descriptor, (int)align), 0, align));
        return this;
    }

    public ElfBuilder RawNote(byte[] bytes, ulong align = 4)
    {
        _segments.Add(new Segment(ElfProgramHeader.TypeNote, 0, 0, bytes, 0, align));
        return this;
    }

    /// <summary>A PVH entry note as Linux emits it: 8-byte descriptor in ELF64, 4-byte in ELF32.</summary>
    public ElfBuilder PvhNote(uint entry)
    {
        byte[] desc = new byte[Is64 ? 8 : 4];
        BinaryPrimitives.WriteUInt32LittleEndian(desc, entry);
        return Note(PvhBootLoader.XenNoteName, PvhBootLoader.XenElfNotePhys32Entry, desc);
    }

    /// <summary>
    /// One note: namesz, descsz, type, then the name and the descriptor, each starting on an
    /// <paramref name="align"/> boundary measured from the note's start.
    /// </summary>
    public static byte[] EncodeNote(string name, uint type, byte[] descriptor, int align = 4)
    {
        byte[] nameBytes = Encoding.ASCII.GetBytes(name + "\0");
        int descOffset = (12 + nameBytes.Length + align - 1) / align * align;
        int end = (descOffset + descriptor.Length + align - 1) / align * align;
        var note = new byte[end];
        BinaryPrimitives.WriteUInt32LittleEndian(note, (uint)nameBytes.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(note.AsSpan(4), (uint)descriptor.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(note.AsSpan(8), type);
        nameBytes.CopyTo(note, 12);
        descriptor.CopyTo(note, descOffset);
        return note;
    }

    /// <summary>File offset where segment <paramref name="index"/>'s data lands.</summary>
    public int DataOffset(int index)
    {
        int offset = Align16(HeaderSize + _segments.Count * ProgramHeaderSize);
        for (int i = 0; i < index; i++)
        {
            offset = Align16(offset + _segments[i].Data.Length);
        }
        return offset;
    }

    public byte[] Build()
    {
        int total = DataOffset(_segments.Count);
        var file = new byte[total];
        var span = file.AsSpan();
        span[0] = 0x7F; span[1] = (byte)'E'; span[2] = (byte)'L'; span[3] = (byte)'F';
        span[4] = (byte)Class;
        span[5] = 1; // little-endian
        span[6] = 1; // EV_CURRENT
        BinaryPrimitives.WriteUInt16LittleEndian(span[16..], 2); // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(span[18..], Machine ?? (ushort)(Is64 ? 62 : 3));
        BinaryPrimitives.WriteUInt32LittleEndian(span[20..], 1);
        if (Is64)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(span[24..], Entry);
            BinaryPrimitives.WriteUInt64LittleEndian(span[32..], (ulong)ProgramHeaderOffset);
            BinaryPrimitives.WriteUInt16LittleEndian(span[52..], (ushort)HeaderSize);
            BinaryPrimitives.WriteUInt16LittleEndian(span[54..], (ushort)ProgramHeaderSize);
            BinaryPrimitives.WriteUInt16LittleEndian(span[56..], (ushort)_segments.Count);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span[24..], (uint)Entry);
            BinaryPrimitives.WriteUInt32LittleEndian(span[28..], (uint)ProgramHeaderOffset);
            BinaryPrimitives.WriteUInt16LittleEndian(span[40..], (ushort)HeaderSize);
            BinaryPrimitives.WriteUInt16LittleEndian(span[42..], (ushort)ProgramHeaderSize);
            BinaryPrimitives.WriteUInt16LittleEndian(span[44..], (ushort)_segments.Count);
        }

        for (int i = 0; i < _segments.Count; i++)
        {
            var s = _segments[i];
            int dataOffset = DataOffset(i);
            s.Data.CopyTo(span[dataOffset..]);
            var ph = span.Slice(ProgramHeaderOffset + i * ProgramHeaderSize, ProgramHeaderSize);
            if (Is64)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(ph, s.Type);
                BinaryPrimitives.WriteUInt32LittleEndian(ph[4..], 5); // R+X
                BinaryPrimitives.WriteUInt64LittleEndian(ph[8..], (ulong)dataOffset);
                BinaryPrimitives.WriteUInt64LittleEndian(ph[16..], s.VirtualAddress);
                BinaryPrimitives.WriteUInt64LittleEndian(ph[24..], s.PhysicalAddress);
                BinaryPrimitives.WriteUInt64LittleEndian(ph[32..], (ulong)s.Data.Length);
                BinaryPrimitives.WriteUInt64LittleEndian(ph[40..], s.Type == ElfProgramHeader.TypeNote ? (ulong)s.Data.Length : s.MemorySize);
                BinaryPrimitives.WriteUInt64LittleEndian(ph[48..], s.Align);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(ph, s.Type);
                BinaryPrimitives.WriteUInt32LittleEndian(ph[4..], (uint)dataOffset);
                BinaryPrimitives.WriteUInt32LittleEndian(ph[8..], (uint)s.VirtualAddress);
                BinaryPrimitives.WriteUInt32LittleEndian(ph[12..], (uint)s.PhysicalAddress);
                BinaryPrimitives.WriteUInt32LittleEndian(ph[16..], (uint)s.Data.Length);
                BinaryPrimitives.WriteUInt32LittleEndian(ph[20..], s.Type == ElfProgramHeader.TypeNote ? (uint)s.Data.Length : (uint)s.MemorySize);
                BinaryPrimitives.WriteUInt32LittleEndian(ph[24..], 5);
                BinaryPrimitives.WriteUInt32LittleEndian(ph[28..], (uint)s.Align);
            }
        }
        return file;
    }

    /// <summary>Offset of program header <paramref name="index"/>'s field at <paramref name="field64"/> (ELF64) / <paramref name="field32"/> (ELF32).</summary>
    public int ProgramHeaderField(int index, int field64, int field32) =>
        ProgramHeaderOffset + index * ProgramHeaderSize + (Is64 ? field64 : field32);

    private static int Align16(int value) => (value + 15) & ~15;
}
