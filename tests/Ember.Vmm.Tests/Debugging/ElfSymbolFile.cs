using System.Buffers.Binary;
using System.Text;

namespace Ember.Vmm.Tests.Debugging;

/// <summary>
/// Writes the smallest ELF64 (x86-64) file GDB reads symbols from: a .text section holding the guest's code at its
/// address, and .symtab/.strtab naming places in it (System V gABI, "Sections" and "Symbol Table"). No program
/// headers: it is a symbol file, never loaded.
/// </summary>
internal static class ElfSymbolFile
{
    public sealed record Symbol(string Name, ulong Address, ulong Size, bool IsFunction);

    private const int HeaderSize = 64, SectionHeaderSize = 64, SymbolSize = 24;
    private const uint ShtProgbits = 1, ShtSymtab = 2, ShtStrtab = 3;
    private const ulong ShfAlloc = 2, ShfExecInstr = 4, ShfWrite = 1;

    public static byte[] Build(ulong textAddress, byte[] text, IReadOnlyList<Symbol> symbols)
    {
        var strings = new List<byte> { 0 };
        int AddString(List<byte> table, string s)
        {
            int at = table.Count;
            table.AddRange(Encoding.ASCII.GetBytes(s));
            table.Add(0);
            return at;
        }
        var symtab = new byte[(symbols.Count + 1) * SymbolSize];
        for (int i = 0; i < symbols.Count; i++)
        {
            var entry = symtab.AsSpan((i + 1) * SymbolSize, SymbolSize);
            BinaryPrimitives.WriteUInt32LittleEndian(entry, (uint)AddString(strings, symbols[i].Name));
            entry[4] = (byte)(1 << 4 | (symbols[i].IsFunction ? 2 : 1)); // STB_GLOBAL, STT_FUNC or STT_OBJECT
            BinaryPrimitives.WriteUInt16LittleEndian(entry[6..], 1);     // in .text
            BinaryPrimitives.WriteUInt64LittleEndian(entry[8..], symbols[i].Address);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[16..], symbols[i].Size);
        }
        var sectionNames = new List<byte> { 0 };
        int textName = AddString(sectionNames, ".text"), symtabName = AddString(sectionNames, ".symtab");
        int strtabName = AddString(sectionNames, ".strtab"), shstrtabName = AddString(sectionNames, ".shstrtab");

        int textOffset = HeaderSize;
        int symtabOffset = Align(textOffset + text.Length, 8);
        int strtabOffset = symtabOffset + symtab.Length;
        int shstrtabOffset = strtabOffset + strings.Count;
        int sectionsOffset = Align(shstrtabOffset + sectionNames.Count, 8);
        var file = new byte[sectionsOffset + 5 * SectionHeaderSize];
        var span = file.AsSpan();

        "\x7F"u8.CopyTo(span);
        "ELF"u8.CopyTo(span[1..]);
        span[4] = 2; // ELFCLASS64
        span[5] = 1; // little endian
        span[6] = 1; // EV_CURRENT
        BinaryPrimitives.WriteUInt16LittleEndian(span[16..], 2);  // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(span[18..], 62); // EM_X86_64
        BinaryPrimitives.WriteUInt32LittleEndian(span[20..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(span[24..], textAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(span[40..], (ulong)sectionsOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(span[52..], HeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(span[58..], SectionHeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(span[60..], 5); // e_shnum
        BinaryPrimitives.WriteUInt16LittleEndian(span[62..], 4); // e_shstrndx

        text.CopyTo(span[textOffset..]);
        symtab.CopyTo(span[symtabOffset..]);
        strings.ToArray().CopyTo(span[strtabOffset..]);
        sectionNames.ToArray().CopyTo(span[shstrtabOffset..]);

        Section(span, 1, textName, ShtProgbits, ShfAlloc | ShfExecInstr | ShfWrite, textAddress, textOffset, text.Length, 0, 0, 16, 0);
        Section(span, 2, symtabName, ShtSymtab, 0, 0, symtabOffset, symtab.Length, link: 3, info: 1, 8, SymbolSize);
        Section(span, 3, strtabName, ShtStrtab, 0, 0, strtabOffset, strings.Count, 0, 0, 1, 0);
        Section(span, 4, shstrtabName, ShtStrtab, 0, 0, shstrtabOffset, sectionNames.Count, 0, 0, 1, 0);
        return file;

        void Section(Span<byte> f, int index, int name, uint type, ulong flags, ulong address, int offset, int size, uint link, uint info, ulong align, ulong entrySize)
        {
            var header = f.Slice(sectionsOffset + index * SectionHeaderSize, SectionHeaderSize);
            BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)name);
            BinaryPrimitives.WriteUInt32LittleEndian(header[4..], type);
            BinaryPrimitives.WriteUInt64LittleEndian(header[8..], flags);
            BinaryPrimitives.WriteUInt64LittleEndian(header[16..], address);
            BinaryPrimitives.WriteUInt64LittleEndian(header[24..], (ulong)offset);
            BinaryPrimitives.WriteUInt64LittleEndian(header[32..], (ulong)size);
            BinaryPrimitives.WriteUInt32LittleEndian(header[40..], link);
            BinaryPrimitives.WriteUInt32LittleEndian(header[44..], info);
            BinaryPrimitives.WriteUInt64LittleEndian(header[48..], align);
            BinaryPrimitives.WriteUInt64LittleEndian(header[56..], entrySize);
        }
    }

    private static int Align(int value, int alignment) => (value + alignment - 1) / alignment * alignment;
}
