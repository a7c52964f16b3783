using System.Buffers.Binary;

namespace Ember.Vmm.Boot;

/// <summary>
/// struct hvm_start_info, version 1 (xen/include/public/arch-x86/hvm/start_info.h): the block a
/// PVH kernel finds at EBX. All addresses are guest physical; 0 means "not present".
/// </summary>
public sealed record PvhStartInfo(
    uint ModuleCount,
    ulong ModuleListAddress,
    ulong CommandLineAddress,
    ulong RsdpAddress,
    ulong MemoryMapAddress,
    uint MemoryMapEntries)
{
    /// <summary>XEN_HVM_START_MAGIC_VALUE: "xEn3" with the 0x80 bit of the 'E' set.</summary>
    public const uint Magic = 0x336E_C578;

    /// <summary>Version 1 adds memmap_paddr/memmap_entries.</summary>
    public const uint Version = 1;

    public const int Size = 0x38;
    public const int MagicOffset = 0x00;
    public const int VersionOffset = 0x04;
    public const int FlagsOffset = 0x08;
    public const int NrModulesOffset = 0x0C;
    public const int ModlistPaddrOffset = 0x10;
    public const int CmdlinePaddrOffset = 0x18;
    public const int RsdpPaddrOffset = 0x20;
    public const int MemmapPaddrOffset = 0x28;
    public const int MemmapEntriesOffset = 0x30;
    public const int ReservedOffset = 0x34;

    /// <summary>struct hvm_modlist_entry: paddr, size, cmdline_paddr, reserved (4 × u64).</summary>
    public const int ModuleEntrySize = 32;

    /// <summary>struct hvm_memmap_table_entry: addr (u64), size (u64), type (u32), reserved (u32).</summary>
    public const int MemoryMapEntrySize = 24;

    public byte[] Encode()
    {
        var bytes = new byte[Size];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span[MagicOffset..], Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(span[VersionOffset..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(span[NrModulesOffset..], ModuleCount);
        BinaryPrimitives.WriteUInt64LittleEndian(span[ModlistPaddrOffset..], ModuleListAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(span[CmdlinePaddrOffset..], CommandLineAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(span[RsdpPaddrOffset..], RsdpAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(span[MemmapPaddrOffset..], MemoryMapAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(span[MemmapEntriesOffset..], MemoryMapEntries);
        return bytes;
    }

    /// <summary>One hvm_modlist_entry.</summary>
    public static byte[] EncodeModule(ulong address, ulong size, ulong commandLineAddress)
    {
        var bytes = new byte[ModuleEntrySize];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(0), address);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), size);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), commandLineAddress);
        return bytes;
    }

    /// <summary>The hvm_memmap_table_entry array for a map (XEN_HVM_MEMMAP_TYPE_* equal the E820 types).</summary>
    public static byte[] EncodeMemoryMap(E820Map map)
    {
        ArgumentNullException.ThrowIfNull(map);
        var bytes = new byte[map.Entries.Count * MemoryMapEntrySize];
        for (int i = 0; i < map.Entries.Count; i++)
        {
            var slot = bytes.AsSpan(i * MemoryMapEntrySize, MemoryMapEntrySize);
            BinaryPrimitives.WriteUInt64LittleEndian(slot, map.Entries[i].Address);
            BinaryPrimitives.WriteUInt64LittleEndian(slot[8..], map.Entries[i].Size);
            BinaryPrimitives.WriteUInt32LittleEndian(slot[16..], (uint)map.Entries[i].Type);
        }
        return bytes;
    }
}
