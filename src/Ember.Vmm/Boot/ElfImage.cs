using System.Buffers.Binary;
using System.Text;

namespace Ember.Vmm.Boot;

/// <summary>
/// A validated little-endian x86 ELF executable (System V ABI gABI, "ELF Header" and "Program
/// Header"), ELF32 or ELF64. Parsing checks the header, the program header table bounds, and
/// for PT_LOAD/PT_NOTE segments that their file bytes lie inside the file and that address +
/// size does not overflow; anything wrong is a <see cref="BootImageException"/>.
/// </summary>
public sealed class ElfImage
{
    /// <summary>A cap on e_phnum: real kernels have a handful; this bounds work on hostile input.</summary>
    public const int MaxProgramHeaders = 128;

    private const int Elf32HeaderSize = 52;
    private const int Elf64HeaderSize = 64;
    private const int Elf32ProgramHeaderSize = 32;
    private const int Elf64ProgramHeaderSize = 56;
    private const byte DataLittleEndian = 1;   // ELFDATA2LSB
    private const byte CurrentVersion = 1;     // EV_CURRENT
    private const ushort TypeExecutable = 2;   // ET_EXEC
    private const ushort MachineI386 = 3;      // EM_386
    private const ushort MachineX86_64 = 62;   // EM_X86_64
    private const int NoteHeaderSize = 12;     // namesz, descsz, type

    private readonly ReadOnlyMemory<byte> _file;

    private ElfImage(ReadOnlyMemory<byte> file, ElfClass elfClass, ushort machine, ulong entry, ElfProgramHeader[] programHeaders)
    {
        _file = file;
        Class = elfClass;
        Machine = machine;
        Entry = entry;
        ProgramHeaders = programHeaders;
    }

    public ElfClass Class { get; }

    public ushort Machine { get; }

    /// <summary>e_entry (a virtual address).</summary>
    public ulong Entry { get; }

    public IReadOnlyList<ElfProgramHeader> ProgramHeaders { get; }

    /// <summary>The file bytes.</summary>
    public ReadOnlyMemory<byte> File => _file;

    /// <summary>True when the data starts with 0x7F 'E' 'L' 'F'.</summary>
    public static bool HasElfMagic(ReadOnlySpan<byte> data) =>
        data.Length >= 4 && data[0] == 0x7F && data[1] == (byte)'E' && data[2] == (byte)'L' && data[3] == (byte)'F';

    /// <exception cref="BootImageException">Not a well-formed little-endian x86 ELF executable.</exception>
    public static ElfImage Parse(ReadOnlyMemory<byte> file)
    {
        var span = file.Span;
        if (!HasElfMagic(span))
        {
            throw new BootImageException("not an ELF image: no 0x7F 'ELF' magic");
        }
        if (span.Length < Elf32HeaderSize)
        {
            throw new BootImageException($"ELF image truncated: {span.Length} bytes is smaller than the ELF header");
        }

        var elfClass = (ElfClass)span[4];
        if (elfClass is not (ElfClass.Elf32 or ElfClass.Elf64))
        {
            throw new BootImageException($"ELF class {span[4]} is neither ELF32 nor ELF64");
        }
        bool is64 = elfClass == ElfClass.Elf64;
        if (is64 && span.Length < Elf64HeaderSize)
        {
            throw new BootImageException($"ELF64 image truncated: {span.Length} bytes is smaller than the ELF header");
        }
        if (span[5] != DataLittleEndian)
        {
            throw new BootImageException("ELF image is not little-endian");
        }
        if (span[6] != CurrentVersion || U32(span, 20) != CurrentVersion)
        {
            throw new BootImageException("ELF version is not 1 (EV_CURRENT)");
        }
        ushort type = U16(span, 16);
        if (type != TypeExecutable)
        {
            throw new BootImageException($"ELF type {type} is not an executable (ET_EXEC)");
        }
        ushort machine = U16(span, 18);
        ushort expectedMachine = is64 ? MachineX86_64 : MachineI386;
        if (machine != expectedMachine)
        {
            throw new BootImageException($"ELF machine {machine} is not {(is64 ? "x86-64 (62)" : "i386 (3)")}");
        }

        ulong entry = is64 ? U64(span, 24) : U32(span, 24);
        ulong phoff = is64 ? U64(span, 32) : U32(span, 28);
        ushort phentsize = U16(span, is64 ? 54 : 42);
        ushort phnum = U16(span, is64 ? 56 : 44);
        int expectedEntrySize = is64 ? Elf64ProgramHeaderSize : Elf32ProgramHeaderSize;
        if (phentsize != expectedEntrySize)
        {
            throw new BootImageException($"ELF program header size {phentsize} is not {expectedEntrySize}");
        }
        if (phnum == 0)
        {
            throw new BootImageException("ELF image has no program headers");
        }
        if (phnum > MaxProgramHeaders)
        {
            throw new BootImageException($"ELF image has {phnum} program headers; at most {MaxProgramHeaders} are accepted");
        }
        ulong tableSize = (ulong)phnum * phentsize;
        if (phoff > (ulong)span.Length || tableSize > (ulong)span.Length - phoff)
        {
            throw new BootImageException($"ELF program header table at 0x{phoff:x} (+0x{tableSize:x}) is outside the {span.Length}-byte file");
        }

        var headers = new ElfProgramHeader[phnum];
        for (int i = 0; i < phnum; i++)
        {
            var ph = span.Slice((int)phoff + i * phentsize, phentsize);
            var header = is64
                ? new ElfProgramHeader(U32(ph, 0), U32(ph, 4), U64(ph, 8), U64(ph, 16), U64(ph, 24), U64(ph, 32), U64(ph, 40), U64(ph, 48))
                : new ElfProgramHeader(U32(ph, 0), U32(ph, 24), U32(ph, 4), U32(ph, 8), U32(ph, 12), U32(ph, 16), U32(ph, 20), U32(ph, 28));
            Validate(header, i, (ulong)span.Length);
            headers[i] = header;
        }
        return new ElfImage(file, elfClass, machine, entry, headers);
    }

    /// <summary>
    /// All notes in the PT_NOTE segments. Each note is namesz, descsz, type, then name and
    /// descriptor, each padded to the segment's alignment (4, or 8 when p_align is 8).
    /// </summary>
    /// <exception cref="BootImageException">A note runs past the end of its segment.</exception>
    public IReadOnlyList<ElfNote> Notes()
    {
        var notes = new List<ElfNote>();
        foreach (var header in ProgramHeaders)
        {
            if (header.Type != ElfProgramHeader.TypeNote)
            {
                continue;
            }
            ulong alignment = header.Align == 8 ? 8UL : 4UL;
            var segment = _file.Slice((int)header.Offset, (int)header.FileSize);
            ulong position = 0;
            ulong length = (ulong)segment.Length;
            while (length - position >= NoteHeaderSize)
            {
                var span = segment.Span;
                uint nameSize = U32(span, (int)position);
                uint descSize = U32(span, (int)position + 4);
                uint type = U32(span, (int)position + 8);
                ulong nameStart = position + NoteHeaderSize;
                ulong descStart = AlignUp(nameStart + nameSize, alignment);
                ulong descEnd = descStart + descSize;
                if (descEnd > length)
                {
                    throw new BootImageException($"ELF note at segment offset 0x{position:x} runs past the end of its PT_NOTE segment");
                }
                string name = Encoding.ASCII.GetString(span.Slice((int)nameStart, (int)nameSize)).TrimEnd('\0');
                notes.Add(new ElfNote(name, type, segment.Slice((int)descStart, (int)descSize)));
                position = AlignUp(descEnd, alignment);
            }
        }
        return notes;
    }

    /// <summary>
    /// Translates a virtual address inside a PT_LOAD segment to its physical address (ELF entry
    /// points are virtual; we load by p_paddr). Returns false when no segment contains it.
    /// </summary>
    public bool TryTranslateToPhysical(ulong virtualAddress, out ulong physicalAddress)
    {
        foreach (var header in ProgramHeaders)
        {
            if (header.Type == ElfProgramHeader.TypeLoad
                && virtualAddress >= header.VirtualAddress
                && virtualAddress - header.VirtualAddress < header.MemorySize)
            {
                physicalAddress = header.PhysicalAddress + (virtualAddress - header.VirtualAddress);
                return true;
            }
        }
        physicalAddress = 0;
        return false;
    }

    /// <summary>True when a PT_LOAD segment covers the physical address.</summary>
    public bool IsLoadedPhysical(ulong physicalAddress) =>
        ProgramHeaders.Any(h => h.Type == ElfProgramHeader.TypeLoad
            && physicalAddress >= h.PhysicalAddress
            && physicalAddress - h.PhysicalAddress < h.MemorySize);

    private static void Validate(ElfProgramHeader header, int index, ulong fileLength)
    {
        if (header.Type is not (ElfProgramHeader.TypeLoad or ElfProgramHeader.TypeNote))
        {
            return;
        }
        if (header.Offset > fileLength || header.FileSize > fileLength - header.Offset)
        {
            throw new BootImageException(
                $"ELF program header {index}: file range 0x{header.Offset:x}+0x{header.FileSize:x} is outside the {fileLength}-byte file");
        }
        if (header.Type == ElfProgramHeader.TypeLoad)
        {
            if (header.FileSize > header.MemorySize)
            {
                throw new BootImageException($"ELF program header {index}: p_filesz 0x{header.FileSize:x} exceeds p_memsz 0x{header.MemorySize:x}");
            }
            if (header.MemorySize > ulong.MaxValue - header.PhysicalAddress || header.MemorySize > ulong.MaxValue - header.VirtualAddress)
            {
                throw new BootImageException($"ELF program header {index}: address 0x{header.PhysicalAddress:x} + size 0x{header.MemorySize:x} overflows");
            }
        }
    }

    private static ulong AlignUp(ulong value, ulong alignment) => (value + alignment - 1) & ~(alignment - 1);
    private static ushort U16(ReadOnlySpan<byte> span, int offset) => BinaryPrimitives.ReadUInt16LittleEndian(span[offset..]);
    private static uint U32(ReadOnlySpan<byte> span, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(span[offset..]);
    private static ulong U64(ReadOnlySpan<byte> span, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(span[offset..]);
}
