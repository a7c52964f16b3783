using System.Buffers.Binary;
using Ember.Vmm.Boot;
using P = Ember.Vmm.Boot.LinuxBootParams;

namespace Ember.Vmm.Tests.Boot;

/// <summary>Synthesises a minimal bzImage: boot sector + setup sectors with a real-mode header, then a patterned "kernel".</summary>
internal sealed class BzImageBuilder
{
    public ushort Version { get; set; } = 0x020F;
    public byte SetupSects { get; set; } = 4;
    public byte LoadFlags { get; set; } = BzImage.LoadedHigh;
    public ushort XLoadFlags { get; set; } = BzImage.XlfKernel64;
    public uint CmdlineSize { get; set; } = 2047;
    public uint InitrdAddrMax { get; set; } = 0x7FFF_FFFF;
    public uint KernelAlignment { get; set; } = 0x20_0000;
    public bool Relocatable { get; set; } = true;
    public ulong PrefAddress { get; set; } = 0x100_0000;
    public uint InitSize { get; set; } = 0x40_0000;
    public int KernelLength { get; set; } = 8192;
    public uint? SysSize { get; set; }
    public byte HeaderLengthByte { get; set; } = 0x6A; // 0x202 + 0x6A = 0x26C, the 2.15 header end
    public uint PayloadOffset { get; set; } = 0x100;
    public uint PayloadLength { get; set; } = 0x1000;

    public int SetupSize => ((SetupSects == 0 ? 4 : SetupSects) + 1) * 512;

    /// <summary>Bytes to load instead of the pattern (padded with zeros to <see cref="KernelLength"/>): a test guest's code.</summary>
    public byte[]? Code { get; set; }

    public byte[] ProtectedModeKernel()
    {
        var kernel = new byte[KernelLength];
        if (Code is not null)
        {
            Code.CopyTo(kernel, 0);
            return kernel;
        }
        for (int i = 0; i < kernel.Length; i++)
        {
            kernel[i] = (byte)(i * 7 + 3);
        }
        return kernel;
    }

    public byte[] Build()
    {
        var image = new byte[SetupSize + KernelLength];
        var span = image.AsSpan();
        span[P.SetupSectsOffset] = SetupSects;
        BinaryPrimitives.WriteUInt32LittleEndian(span[P.SysSizeOffset..], SysSize ?? (uint)(KernelLength / 16));
        BinaryPrimitives.WriteUInt16LittleEndian(span[P.BootFlagOffset..], BzImage.BootFlagMagic);
        span[P.JumpOffset] = 0xEB;
        span[P.JumpOffset + 1] = HeaderLengthByte;
        BinaryPrimitives.WriteUInt32LittleEndian(span[P.HeaderOffset..], BzImage.HeaderMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(span[P.VersionOffset..], Version);
        span[P.LoadFlagsOffset] = LoadFlags;
        BinaryPrimitives.WriteUInt32LittleEndian(span[P.Code32StartOffset..], 0x10_0000);
        BinaryPrimitives.WriteUInt32LittleEndian(span[P.InitrdAddrMaxOffset..], InitrdAddrMax);
        BinaryPrimitives.WriteUInt32LittleEndian(span[P.KernelAlignmentOffset..], KernelAlignment);
        span[P.RelocatableKernelOffset] = Relocatable ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt16LittleEndian(span[P.XLoadFlagsOffset..], XLoadFlags);
        BinaryPrimitives.WriteUInt32LittleEndian(span[P.CmdlineSizeOffset..], CmdlineSize);
        BinaryPrimitives.WriteUInt32LittleEndian(span[P.PayloadOffsetOffset..], PayloadOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(span[P.PayloadLengthOffset..], PayloadLength);
        BinaryPrimitives.WriteUInt64LittleEndian(span[P.PrefAddressOffset..], PrefAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(span[P.InitSizeOffset..], InitSize);
        ProtectedModeKernel().CopyTo(span[SetupSize..]);
        return image;
    }
}
