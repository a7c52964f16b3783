using System.Buffers.Binary;

namespace Ember.Vmm.Boot;

/// <summary>
/// The Multiboot v1 information structure (0.6.96 §3.3 "Boot information format") with the
/// fields Ember fills; the rest stay zero with their flag bits clear.
/// </summary>
public sealed record MultibootInfo(
    uint Flags,
    uint MemoryLowerKiB,
    uint MemoryUpperKiB,
    uint CommandLineAddress,
    uint ModuleCount,
    uint ModuleListAddress,
    uint MemoryMapLength,
    uint MemoryMapAddress,
    uint BootLoaderNameAddress)
{
    /// <summary>EAX at entry: tells the kernel a Multiboot loader started it (§3.2).</summary>
    public const uint BootloaderMagic = 0x2BAD_B002;

    // flags bits (§3.3)
    public const uint FlagMemory = 1u << 0;           // mem_lower/mem_upper
    public const uint FlagBootDevice = 1u << 1;
    public const uint FlagCommandLine = 1u << 2;
    public const uint FlagModules = 1u << 3;
    public const uint FlagMemoryMap = 1u << 6;        // mmap_length/mmap_addr
    public const uint FlagBootLoaderName = 1u << 9;

    /// <summary>Through the VBE fields (offset 88) — the 0.6.96 structure.</summary>
    public const int Size = 88;
    public const int FlagsOffset = 0;
    public const int MemLowerOffset = 4;
    public const int MemUpperOffset = 8;
    public const int BootDeviceOffset = 12;
    public const int CmdlineOffset = 16;
    public const int ModsCountOffset = 20;
    public const int ModsAddrOffset = 24;
    public const int SymsOffset = 28;
    public const int MmapLengthOffset = 44;
    public const int MmapAddrOffset = 48;
    public const int DrivesLengthOffset = 52;
    public const int DrivesAddrOffset = 56;
    public const int ConfigTableOffset = 60;
    public const int BootLoaderNameOffset = 64;
    public const int ApmTableOffset = 68;

    /// <summary>One module entry: mod_start, mod_end (exclusive), string, reserved.</summary>
    public const int ModuleEntrySize = 16;

    /// <summary>One mmap entry: size (u32, excludes itself), base_addr (u64), length (u64), type (u32).</summary>
    public const int MemoryMapEntrySize = 24;

    /// <summary>The value of an mmap entry's size field: the entry minus the size field itself.</summary>
    public const uint MemoryMapEntrySizeField = MemoryMapEntrySize - 4;

    public byte[] Encode()
    {
        var bytes = new byte[Size];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span[FlagsOffset..], Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(span[MemLowerOffset..], MemoryLowerKiB);
        BinaryPrimitives.WriteUInt32LittleEndian(span[MemUpperOffset..], MemoryUpperKiB);
        BinaryPrimitives.WriteUInt32LittleEndian(span[CmdlineOffset..], CommandLineAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(span[ModsCountOffset..], ModuleCount);
        BinaryPrimitives.WriteUInt32LittleEndian(span[ModsAddrOffset..], ModuleListAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(span[MmapLengthOffset..], MemoryMapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(span[MmapAddrOffset..], MemoryMapAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(span[BootLoaderNameOffset..], BootLoaderNameAddress);
        return bytes;
    }

    /// <summary>One module entry; <paramref name="end"/> is one past the last byte (§3.3: "mod_end").</summary>
    public static byte[] EncodeModule(uint start, uint end, uint stringAddress)
    {
        var bytes = new byte[ModuleEntrySize];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(0), start);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), end);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), stringAddress);
        return bytes;
    }

    /// <summary>The mmap buffer: 24-byte entries each led by its size field (20).</summary>
    public static byte[] EncodeMemoryMap(E820Map map)
    {
        ArgumentNullException.ThrowIfNull(map);
        var bytes = new byte[map.Entries.Count * MemoryMapEntrySize];
        for (int i = 0; i < map.Entries.Count; i++)
        {
            var slot = bytes.AsSpan(i * MemoryMapEntrySize, MemoryMapEntrySize);
            BinaryPrimitives.WriteUInt32LittleEndian(slot, MemoryMapEntrySizeField);
            BinaryPrimitives.WriteUInt64LittleEndian(slot[4..], map.Entries[i].Address);
            BinaryPrimitives.WriteUInt64LittleEndian(slot[12..], map.Entries[i].Size);
            BinaryPrimitives.WriteUInt32LittleEndian(slot[20..], (uint)map.Entries[i].Type);
        }
        return bytes;
    }
}
