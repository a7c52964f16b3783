using System.Buffers.Binary;

namespace Ember.Vmm.Boot;

/// <summary>
/// The Linux zero page (struct boot_params, arch/x86/include/uapi/asm/bootparam.h), as a 4 KiB
/// buffer with named offsets from Documentation/arch/x86/zero-page.rst and boot.rst. The
/// setup_header part sits at the same offsets in the bzImage file, so <see cref="BzImage"/>
/// reads the image with these constants too.
/// </summary>
public sealed class LinuxBootParams
{
    public const int Size = 4096;

    // ---- struct boot_params (zero-page.rst) ----
    /// <summary>070/8: physical address of the ACPI RSDP (protocol 2.14+).</summary>
    public const int AcpiRsdpAddrOffset = 0x070;
    /// <summary>0C0/4: ramdisk_image high 32 bits.</summary>
    public const int ExtRamdiskImageOffset = 0x0C0;
    /// <summary>0C4/4: ramdisk_size high 32 bits.</summary>
    public const int ExtRamdiskSizeOffset = 0x0C4;
    /// <summary>0C8/4: cmd_line_ptr high 32 bits.</summary>
    public const int ExtCmdLinePtrOffset = 0x0C8;
    /// <summary>1E8/1: number of entries in e820_table.</summary>
    public const int E820EntriesOffset = 0x1E8;
    /// <summary>1F1: struct setup_header.</summary>
    public const int SetupHeaderOffset = 0x1F1;
    /// <summary>290: edd_mbr_sig_buffer, the first field after setup_header and its padding.</summary>
    public const int SetupHeaderLimit = 0x290;
    /// <summary>2D0/A00: e820_table, 128 entries of 20 bytes.</summary>
    public const int E820TableOffset = 0x2D0;

    // ---- struct setup_header (boot.rst "THE REAL-MODE KERNEL HEADER") ----
    public const int SetupSectsOffset = 0x1F1;        // 1  size of the setup in 512-byte sectors (0 means 4)
    public const int RootFlagsOffset = 0x1F2;         // 2
    public const int SysSizeOffset = 0x1F4;           // 4  protected-mode code size in 16-byte paragraphs (2.04+)
    public const int RamSizeOffset = 0x1F8;           // 2  obsolete
    public const int VidModeOffset = 0x1FA;           // 2
    public const int RootDevOffset = 0x1FC;           // 2
    public const int BootFlagOffset = 0x1FE;          // 2  0xAA55
    public const int JumpOffset = 0x200;              // 2  jmp short; byte 0x201 gives the header end
    public const int HeaderOffset = 0x202;            // 4  "HdrS"
    public const int VersionOffset = 0x206;           // 2  boot protocol version
    public const int RealModeSwitchOffset = 0x208;    // 4
    public const int StartSysSegOffset = 0x20C;       // 2
    public const int KernelVersionOffset = 0x20E;     // 2
    public const int TypeOfLoaderOffset = 0x210;      // 1
    public const int LoadFlagsOffset = 0x211;         // 1
    public const int SetupMoveSizeOffset = 0x212;     // 2
    public const int Code32StartOffset = 0x214;       // 4
    public const int RamdiskImageOffset = 0x218;      // 4
    public const int RamdiskSizeOffset = 0x21C;       // 4
    public const int BootsectKludgeOffset = 0x220;    // 4
    public const int HeapEndPtrOffset = 0x224;        // 2
    public const int ExtLoaderVerOffset = 0x226;      // 1
    public const int ExtLoaderTypeOffset = 0x227;     // 1
    public const int CmdLinePtrOffset = 0x228;        // 4
    public const int InitrdAddrMaxOffset = 0x22C;     // 4
    public const int KernelAlignmentOffset = 0x230;   // 4  (2.05+)
    public const int RelocatableKernelOffset = 0x234; // 1  (2.05+)
    public const int MinAlignmentOffset = 0x235;      // 1  (2.10+)
    public const int XLoadFlagsOffset = 0x236;        // 2  (2.12+)
    public const int CmdlineSizeOffset = 0x238;       // 4  (2.06+)
    public const int HardwareSubarchOffset = 0x23C;   // 4  (2.07+)
    public const int HardwareSubarchDataOffset = 0x240; // 8
    public const int PayloadOffsetOffset = 0x248;     // 4  (2.08+)
    public const int PayloadLengthOffset = 0x24C;     // 4  (2.08+)
    public const int SetupDataOffset = 0x250;         // 8  (2.09+)
    public const int PrefAddressOffset = 0x258;       // 8  (2.10+)
    public const int InitSizeOffset = 0x260;          // 4  (2.10+)
    public const int HandoverOffsetOffset = 0x264;    // 4  (2.11+)
    public const int KernelInfoOffsetOffset = 0x268;  // 4  (2.15+)

    /// <summary>type_of_loader 0xFF: "undefined" boot loader (boot.rst: no assigned ID).</summary>
    public const byte UndefinedLoaderType = 0xFF;

    private readonly byte[] _bytes = new byte[Size];

    /// <summary>The encoded zero page.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>
    /// Copies the kernel's setup header (boot.rst: "copy the setup header from the kernel image
    /// into the zero page", from 0x1F1 up to 0x202 + the byte at 0x201).
    /// </summary>
    public void CopySetupHeader(ReadOnlySpan<byte> setupHeader)
    {
        if (setupHeader.Length > SetupHeaderLimit - SetupHeaderOffset)
        {
            throw new ArgumentException("setup header longer than its slot in the zero page", nameof(setupHeader));
        }
        setupHeader.CopyTo(_bytes.AsSpan(SetupHeaderOffset));
    }

    public byte TypeOfLoader { get => _bytes[TypeOfLoaderOffset]; set => _bytes[TypeOfLoaderOffset] = value; }
    public byte LoadFlags { get => _bytes[LoadFlagsOffset]; set => _bytes[LoadFlagsOffset] = value; }
    public ushort HeapEndPtr { get => U16(HeapEndPtrOffset); set => SetU16(HeapEndPtrOffset, value); }
    public ushort Version => U16(VersionOffset);

    /// <summary>cmd_line_ptr and ext_cmd_line_ptr together.</summary>
    public ulong CommandLinePointer
    {
        get => U32(CmdLinePtrOffset) | ((ulong)U32(ExtCmdLinePtrOffset) << 32);
        set { SetU32(CmdLinePtrOffset, (uint)value); SetU32(ExtCmdLinePtrOffset, (uint)(value >> 32)); }
    }

    /// <summary>ramdisk_image and ext_ramdisk_image together.</summary>
    public ulong RamdiskImage
    {
        get => U32(RamdiskImageOffset) | ((ulong)U32(ExtRamdiskImageOffset) << 32);
        set { SetU32(RamdiskImageOffset, (uint)value); SetU32(ExtRamdiskImageOffset, (uint)(value >> 32)); }
    }

    /// <summary>ramdisk_size and ext_ramdisk_size together.</summary>
    public ulong RamdiskSize
    {
        get => U32(RamdiskSizeOffset) | ((ulong)U32(ExtRamdiskSizeOffset) << 32);
        set { SetU32(RamdiskSizeOffset, (uint)value); SetU32(ExtRamdiskSizeOffset, (uint)(value >> 32)); }
    }

    public ulong AcpiRsdpAddress
    {
        get => BinaryPrimitives.ReadUInt64LittleEndian(_bytes.AsSpan(AcpiRsdpAddrOffset));
        set => BinaryPrimitives.WriteUInt64LittleEndian(_bytes.AsSpan(AcpiRsdpAddrOffset), value);
    }

    /// <summary>Writes the E820 table and its entry count.</summary>
    public void SetE820(E820Map map)
    {
        ArgumentNullException.ThrowIfNull(map);
        var table = _bytes.AsSpan(E820TableOffset, E820Map.MaxEntries * E820Entry.ZeroPageEntrySize);
        table.Clear();
        for (int i = 0; i < map.Entries.Count; i++)
        {
            var entry = map.Entries[i];
            var slot = table.Slice(i * E820Entry.ZeroPageEntrySize, E820Entry.ZeroPageEntrySize);
            BinaryPrimitives.WriteUInt64LittleEndian(slot, entry.Address);
            BinaryPrimitives.WriteUInt64LittleEndian(slot[8..], entry.Size);
            BinaryPrimitives.WriteUInt32LittleEndian(slot[16..], (uint)entry.Type);
        }
        _bytes[E820EntriesOffset] = (byte)map.Entries.Count;
    }

    private ushort U16(int offset) => BinaryPrimitives.ReadUInt16LittleEndian(_bytes.AsSpan(offset));
    private uint U32(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(offset));
    private void SetU16(int offset, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(_bytes.AsSpan(offset), value);
    private void SetU32(int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(_bytes.AsSpan(offset), value);
}
