using System.Buffers.Binary;
using System.Numerics;
using P = Ember.Vmm.Boot.LinuxBootParams;

namespace Ember.Vmm.Boot;

/// <summary>
/// A parsed Linux bzImage (Documentation/arch/x86/boot.rst). Validates the real-mode header and
/// exposes the fields a loader needs; the image bytes are not copied. Every check that fails
/// throws <see cref="BootImageException"/>; a hostile image can make nothing else happen.
/// </summary>
public sealed class BzImage
{
    /// <summary>"HdrS" read as a little-endian u32 at 0x202.</summary>
    public const uint HeaderMagic = 0x5372_6448;

    /// <summary>boot_flag at 0x1FE.</summary>
    public const ushort BootFlagMagic = 0xAA55;

    /// <summary>Oldest protocol accepted: 2.06 brought cmdline_size, and every kernel since 2.6.22 speaks it.</summary>
    public const ushort MinimumProtocolVersion = 0x0206;

    public const int SectorSize = 512;

    /// <summary>boot.rst: "If this field is 0, the real value is 4."</summary>
    public const int DefaultSetupSectors = 4;

    /// <summary>Offset of the 64-bit entry point (startup_64) from the protected-mode kernel's load address (boot.rst).</summary>
    public const ulong Entry64Offset = 0x200;

    // loadflags (boot.rst "Details of header fields")
    public const byte LoadedHigh = 0x01;
    public const byte KaslrFlag = 0x02;
    public const byte QuietFlag = 0x20;
    public const byte KeepSegments = 0x40;
    public const byte CanUseHeap = 0x80;

    // xloadflags (protocol 2.12+)
    public const ushort XlfKernel64 = 1 << 0;
    public const ushort XlfCanBeLoadedAbove4G = 1 << 1;
    public const ushort XlfEfiHandover32 = 1 << 2;
    public const ushort XlfEfiHandover64 = 1 << 3;
    public const ushort XlfEfiKexec = 1 << 4;

    private const ushort ProtocolKernelAlignment = 0x0205;
    private const ushort ProtocolPayload = 0x0208;
    private const ushort ProtocolPrefAddress = 0x020A;
    private const ushort ProtocolXLoadFlags = 0x020C;

    private readonly ReadOnlyMemory<byte> _image;

    private BzImage(ReadOnlyMemory<byte> image) => _image = image;

    /// <summary>Boot protocol version, major in the high byte (0x020F = 2.15).</summary>
    public ushort ProtocolVersion { get; private init; }

    /// <summary>Real-mode setup sectors after the boot sector (0 already turned into 4).</summary>
    public int SetupSectors { get; private init; }

    /// <summary>Bytes before the protected-mode kernel: (setup_sects + 1) * 512.</summary>
    public int SetupSize => (SetupSectors + 1) * SectorSize;

    /// <summary>syssize: the protected-mode code size in 16-byte paragraphs.</summary>
    public uint SysSize { get; private init; }

    public byte LoadFlags { get; private init; }

    public uint Code32Start { get; private init; }

    /// <summary>Highest address the initrd may occupy (its last byte).</summary>
    public uint InitrdAddressMax { get; private init; }

    /// <summary>Alignment required for a relocated kernel (2.05+).</summary>
    public uint KernelAlignment { get; private init; }

    public bool Relocatable { get; private init; }

    /// <summary>0 before protocol 2.12.</summary>
    public ushort XLoadFlags { get; private init; }

    /// <summary>Maximum command-line length without the terminating NUL.</summary>
    public uint CommandLineSize { get; private init; }

    /// <summary>Compressed payload, relative to the start of the protected-mode code (2.08+; 0 otherwise).</summary>
    public uint PayloadOffset { get; private init; }

    public uint PayloadLength { get; private init; }

    /// <summary>Preferred load address (2.10+); 1 MiB, the classic bzImage address, before that.</summary>
    public ulong PreferredAddress { get; private init; }

    /// <summary>Linear memory the kernel needs from its runtime start before it reads the memory map (2.10+; 0 = unknown).</summary>
    public uint InitSize { get; private init; }

    /// <summary>One past the last setup-header byte: 0x202 + the byte at 0x201.</summary>
    public int SetupHeaderEnd { get; private init; }

    /// <summary>The kernel has a 64-bit entry point at load address + 0x200.</summary>
    public bool Supports64BitEntry => (XLoadFlags & XlfKernel64) != 0;

    /// <summary>The setup header bytes [0x1F1, <see cref="SetupHeaderEnd"/>) to copy into the zero page.</summary>
    public ReadOnlySpan<byte> SetupHeader => _image.Span[P.SetupHeaderOffset..SetupHeaderEnd];

    /// <summary>Everything after the setup: the protected-mode kernel loaded at 1 MiB.</summary>
    public ReadOnlyMemory<byte> ProtectedModeKernel => _image[SetupSize..];

    /// <summary>True when the image has the "HdrS" magic at 0x202 (format sniffing; no validation).</summary>
    public static bool HasHeaderMagic(ReadOnlySpan<byte> image) =>
        image.Length >= P.HeaderOffset + 4 && BinaryPrimitives.ReadUInt32LittleEndian(image[P.HeaderOffset..]) == HeaderMagic;

    /// <exception cref="BootImageException">Truncated, bad magic, protocol older than 2.06, or inconsistent header.</exception>
    public static BzImage Parse(ReadOnlyMemory<byte> image)
    {
        var span = image.Span;
        if (span.Length < 2 * SectorSize)
        {
            throw new BootImageException($"bzImage truncated: {span.Length} bytes is smaller than the boot sector and setup header");
        }
        if (!HasHeaderMagic(span))
        {
            throw new BootImageException("not a bzImage: no \"HdrS\" magic at offset 0x202");
        }
        if (U16(span, P.BootFlagOffset) != BootFlagMagic)
        {
            throw new BootImageException($"bzImage boot_flag is 0x{U16(span, P.BootFlagOffset):x4}, expected 0xaa55");
        }

        ushort version = U16(span, P.VersionOffset);
        if (version < MinimumProtocolVersion)
        {
            throw new BootImageException($"bzImage boot protocol {version >> 8}.{version & 0xFF:d2} is too old; 2.06 or later is required");
        }

        int setupSectors = span[P.SetupSectsOffset] == 0 ? DefaultSetupSectors : span[P.SetupSectsOffset];
        int setupSize = (setupSectors + 1) * SectorSize;
        if (span.Length <= setupSize)
        {
            throw new BootImageException($"bzImage truncated: {setupSectors} setup sectors need {setupSize} bytes before the kernel, the file has {span.Length}");
        }

        int headerEnd = P.HeaderOffset + span[P.JumpOffset + 1];
        if (headerEnd < P.CmdlineSizeOffset + 4 || headerEnd > P.SetupHeaderLimit)
        {
            throw new BootImageException($"bzImage setup header ends at 0x{headerEnd:x}, outside 0x{P.CmdlineSizeOffset + 4:x}-0x{P.SetupHeaderLimit:x}");
        }

        byte loadFlags = span[P.LoadFlagsOffset];
        if ((loadFlags & LoadedHigh) == 0)
        {
            throw new BootImageException("zImage kernels (loadflags without LOADED_HIGH) are not supported; use a bzImage");
        }

        ulong kernelLength = (ulong)(span.Length - setupSize);
        uint sysSize = U32(span, P.SysSizeOffset);
        if ((ulong)sysSize * 16 > kernelLength)
        {
            throw new BootImageException($"bzImage truncated: syssize says {(ulong)sysSize * 16} bytes of protected-mode code, the file has {kernelLength}");
        }

        bool relocatable = version >= ProtocolKernelAlignment && span[P.RelocatableKernelOffset] != 0;
        uint alignment = version >= ProtocolKernelAlignment ? U32(span, P.KernelAlignmentOffset) : 0;
        if (relocatable && !BitOperations.IsPow2(alignment))
        {
            throw new BootImageException($"bzImage kernel_alignment 0x{alignment:x} is not a power of two");
        }

        uint payloadOffset = 0, payloadLength = 0;
        if (version >= ProtocolPayload)
        {
            payloadOffset = U32(span, P.PayloadOffsetOffset);
            payloadLength = U32(span, P.PayloadLengthOffset);
            if ((ulong)payloadOffset + payloadLength > kernelLength)
            {
                throw new BootImageException($"bzImage payload 0x{payloadOffset:x}+0x{payloadLength:x} runs past the end of the kernel (0x{kernelLength:x} bytes)");
            }
        }

        bool hasPrefAddress = version >= ProtocolPrefAddress;
        return new BzImage(image)
        {
            ProtocolVersion = version,
            SetupSectors = setupSectors,
            SysSize = sysSize,
            LoadFlags = loadFlags,
            Code32Start = U32(span, P.Code32StartOffset),
            InitrdAddressMax = U32(span, P.InitrdAddrMaxOffset),
            KernelAlignment = alignment,
            Relocatable = relocatable,
            XLoadFlags = version >= ProtocolXLoadFlags ? U16(span, P.XLoadFlagsOffset) : (ushort)0,
            CommandLineSize = U32(span, P.CmdlineSizeOffset),
            PayloadOffset = payloadOffset,
            PayloadLength = payloadLength,
            PreferredAddress = hasPrefAddress ? BinaryPrimitives.ReadUInt64LittleEndian(span[P.PrefAddressOffset..]) : Layout.KernelLoadAddress,
            InitSize = hasPrefAddress ? U32(span, P.InitSizeOffset) : 0,
            SetupHeaderEnd = headerEnd,
        };
    }

    /// <summary>
    /// Where the kernel will run from when loaded at <paramref name="loadAddress"/>, by the
    /// algorithm in boot.rst under init_size: a relocatable kernel runs at
    /// align_up(max(load, pref_address), kernel_alignment); any other at pref_address.
    /// </summary>
    public ulong RuntimeStart(ulong loadAddress)
    {
        if (!Relocatable)
        {
            return PreferredAddress;
        }
        ulong start = Math.Max(loadAddress, PreferredAddress);
        ulong mask = KernelAlignment - 1UL;
        if (start > ulong.MaxValue - mask)
        {
            throw new BootImageException($"bzImage preferred address 0x{PreferredAddress:x} overflows when aligned");
        }
        return (start + mask) & ~mask;
    }

    private static ushort U16(ReadOnlySpan<byte> span, int offset) => BinaryPrimitives.ReadUInt16LittleEndian(span[offset..]);
    private static uint U32(ReadOnlySpan<byte> span, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(span[offset..]);
}
