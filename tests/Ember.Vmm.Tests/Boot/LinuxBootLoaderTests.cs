using Xunit;
using Ember.Memory;
using Ember.Vmm.Boot;
using Ember.Vmm.Tests.Fakes;
using P = Ember.Vmm.Boot.LinuxBootParams;

namespace Ember.Vmm.Tests.Boot;

public class LinuxBootLoaderTests
{
    private const ulong MiB = 1024 * 1024;
    private const ulong GiB = 1024 * MiB;

    private static (ByteArrayGuestMemory Memory, BootEntry Entry) Boot(BzImageBuilder builder, ulong memorySize = 256 * MiB, string commandLine = "console=ttyS0", byte[]? initrd = null, GuestAddress? rsdp = null)
    {
        var memory = ByteArrayGuestMemory.WithLayout(memorySize);
        var request = new BootRequest(builder.Build(), commandLine) { Initrd = initrd ?? default(ReadOnlyMemory<byte>), AcpiRsdp = rsdp };
        var entry = new LinuxBootLoader().Load(memory, request);
        return (memory, entry);
    }

    [Fact]
    public void KernelIsLoadedAtOneMiBAndEnteredInLongModeAt0x200()
    {
        var builder = new BzImageBuilder();

        var (memory, entry) = Boot(builder);

        Assert.Equal(builder.ProtectedModeKernel(), memory.ReadBytes(0x100000, builder.KernelLength));
        Assert.Equal(BootCpuMode.Long64, entry.Mode);
        Assert.Equal(0x100200UL, entry.EntryPoint);
        Assert.Equal(Layout.ZeroPage, entry.Registers.Rsi);
        Assert.Equal(Layout.Pml4, entry.Cpu.Cr3);
        Assert.Equal(0x2UL, entry.Registers.Rflags);
    }

    [Fact]
    public void ZeroPageFieldsAreAtTheirBootProtocolOffsets()
    {
        var (memory, _) = Boot(new BzImageBuilder());
        ulong zp = Layout.ZeroPage;

        Assert.Equal(0x53726448U, memory.ReadUInt32(zp + 0x202));                 // header copied
        Assert.Equal((ushort)0x020F, memory.ReadUInt16(zp + 0x206));              // version copied
        Assert.Equal((byte)0xFF, memory.ReadByte(zp + 0x210));                    // type_of_loader
        Assert.Equal((byte)0x81, memory.ReadByte(zp + 0x211));                    // LOADED_HIGH | CAN_USE_HEAP
        Assert.Equal((ushort)0xFE00, memory.ReadUInt16(zp + 0x224));              // heap_end_ptr
        Assert.Equal(0x20000U, memory.ReadUInt32(zp + 0x228));                    // cmd_line_ptr
        Assert.Equal(0U, memory.ReadUInt32(zp + 0x0C8));                          // ext_cmd_line_ptr
        Assert.Equal(0x7FFF_FFFFU, memory.ReadUInt32(zp + 0x22C));                // initrd_addr_max copied
        Assert.Equal((byte)3, memory.ReadByte(zp + 0x1E8));                       // e820_entries
        Assert.Equal(0U, memory.ReadUInt32(zp + 0x218));                          // no ramdisk
        Assert.Equal(0U, memory.ReadUInt32(zp + 0x21C));
        // Bytes past the header's end (0x26C) are not copied from the image.
        Assert.Equal(0U, memory.ReadUInt32(zp + 0x26C));
    }

    [Fact]
    public void E820TableInTheZeroPageMatchesTheRamLayout()
    {
        var (memory, _) = Boot(new BzImageBuilder(), memorySize: 5 * GiB);
        ulong table = Layout.ZeroPage + 0x2D0;

        Assert.Equal((byte)4, memory.ReadByte(Layout.ZeroPage + 0x1E8));
        (ulong Address, ulong Size, uint Type)[] expected =
        [
            (0, 0x9FC00, 1),
            (0x9FC00, 0x100000 - 0x9FC00, 2),
            (0x100000, 3 * GiB - 0x100000, 1),
            (4 * GiB, 2 * GiB, 1),
        ];
        for (int i = 0; i < expected.Length; i++)
        {
            ulong slot = table + (ulong)(i * 20);
            Assert.Equal(expected[i], (memory.ReadUInt64(slot), memory.ReadUInt64(slot + 8), memory.ReadUInt32(slot + 16)));
        }
        Assert.Equal(0UL, memory.ReadUInt64(table + 4 * 20 + 8));
    }

    [Fact]
    public void CommandLineIsWrittenNulTerminatedAtTheLayoutAddress()
    {
        var (memory, _) = Boot(new BzImageBuilder(), commandLine: "console=ttyS0 root=/dev/vda quiet");

        Assert.Equal("console=ttyS0 root=/dev/vda quiet", memory.ReadCString(Layout.CommandLine));
        Assert.Equal((byte)0, memory.ReadByte(Layout.CommandLine + 34));
    }

    [Fact]
    public void CommandLineLongerThanCmdlineSizeIsRejected()
    {
        var builder = new BzImageBuilder { CmdlineSize = 16 };

        Boot(builder, commandLine: new string('a', 16));
        var ex = Assert.Throws<BootImageException>(() => Boot(builder, commandLine: new string('a', 17)));
        Assert.Contains("17", ex.Message);
    }

    [Fact]
    public void CommandLineIsAlsoCappedByTheLayoutRegion()
    {
        var builder = new BzImageBuilder { CmdlineSize = uint.MaxValue };

        Assert.Throws<BootImageException>(() => Boot(builder, commandLine: new string('a', Layout.CommandLineMaxSize)));
    }

    [Fact]
    public void CommandLineWithNulIsRejected()
    {
        Assert.Throws<BootImageException>(() => Boot(new BzImageBuilder(), commandLine: "a\0b"));
    }

    [Fact]
    public void InitrdGoesPageAlignedAtTheTopOfLowRam()
    {
        var initrd = Enumerable.Range(0, 10_000).Select(i => (byte)(i % 251)).ToArray();

        var (memory, _) = Boot(new BzImageBuilder(), initrd: initrd);

        uint address = memory.ReadUInt32(Layout.ZeroPage + 0x218);
        Assert.Equal(0U, address % 4096);
        Assert.Equal((uint)initrd.Length, memory.ReadUInt32(Layout.ZeroPage + 0x21C));
        Assert.Equal(256 * MiB - 12 * 1024, address);   // highest 4 KiB-aligned start that fits 10,000 bytes
        Assert.Equal(initrd, memory.ReadBytes(address, initrd.Length));
    }

    [Fact]
    public void InitrdStaysBelowInitrdAddrMax()
    {
        var builder = new BzImageBuilder { InitrdAddrMax = 0x37FF_FFFF };
        var initrd = new byte[5000];
        initrd[0] = 0x42;

        var (memory, _) = Boot(builder, memorySize: 2 * GiB, initrd: initrd);

        ulong address = memory.ReadUInt32(Layout.ZeroPage + 0x218);
        Assert.True(address + 5000 <= 0x3800_0000UL);
        Assert.Equal(0x3800_0000UL - 8192, address);
        Assert.Equal((byte)0x42, memory.ReadByte(address));
    }

    [Fact]
    public void InitrdOfALargeGuestStaysBelowTheHole()
    {
        var builder = new BzImageBuilder { InitrdAddrMax = 0xFFFF_FFFF };

        var (memory, _) = Boot(builder, memorySize: 5 * GiB, initrd: new byte[4096]);

        Assert.Equal(3 * GiB - 4096, memory.ReadUInt32(Layout.ZeroPage + 0x218));
    }

    [Fact]
    public void InitrdThatDoesNotFitAboveTheKernelIsRejected()
    {
        // 32 MiB guest; the kernel needs up to 16 + 4 MiB; a 16 MiB initrd cannot fit above that.
        var ex = Assert.Throws<BootImageException>(() => Boot(new BzImageBuilder(), memorySize: 32 * MiB, initrd: new byte[16 * MiB]));

        Assert.Contains("initrd", ex.Message);
    }

    [Fact]
    public void KernelWhoseInitSizeDoesNotFitIsRejected()
    {
        var builder = new BzImageBuilder { InitSize = 64 * (uint)MiB };

        var ex = Assert.Throws<BootImageException>(() => Boot(builder, memorySize: 64 * MiB));

        Assert.Contains("low RAM ends", ex.Message);
    }

    [Fact]
    public void KernelLargerThanRamIsRejected()
    {
        var builder = new BzImageBuilder { KernelLength = 3 * (int)MiB, InitSize = 0, Relocatable = false, PrefAddress = 0x100000 };

        Assert.Throws<BootImageException>(() => Boot(builder, memorySize: 2 * MiB));
    }

    [Fact]
    public void RsdpAddressIsPassedForProtocol214AndLater()
    {
        var rsdp = new GuestAddress(Layout.Rsdp);

        var (modern, _) = Boot(new BzImageBuilder { Version = 0x020E }, rsdp: rsdp);
        var (older, _) = Boot(new BzImageBuilder { Version = 0x020D }, rsdp: rsdp);

        Assert.Equal(Layout.Rsdp, modern.ReadUInt64(Layout.ZeroPage + 0x070));
        Assert.Equal(0UL, older.ReadUInt64(Layout.ZeroPage + 0x070));
    }

    [Fact]
    public void RamdiskFieldsFromTheImageHeaderAreNotPassedOn()
    {
        var builder = new BzImageBuilder();
        var image = builder.Build();
        BitConverter.GetBytes(0x1234_5000U).CopyTo(image, P.RamdiskImageOffset);
        BitConverter.GetBytes(0x1000U).CopyTo(image, P.RamdiskSizeOffset);
        var memory = ByteArrayGuestMemory.WithLayout(256 * MiB);

        new LinuxBootLoader().Load(memory, new BootRequest(image, ""));

        Assert.Equal(0U, memory.ReadUInt32(Layout.ZeroPage + 0x218));
        Assert.Equal(0U, memory.ReadUInt32(Layout.ZeroPage + 0x21C));
    }

    [Fact]
    public void KernelWithoutXlfKernel64UsesThe32BitProtocol()
    {
        var (memory, entry) = Boot(new BzImageBuilder { XLoadFlags = 0 });

        Assert.Equal(BootCpuMode.Protected32, entry.Mode);
        Assert.Equal(0x100000UL, entry.EntryPoint);
        Assert.Equal(Layout.ZeroPage, entry.Registers.Rsi);
        Assert.Equal(0UL, entry.Cpu.Cr3);
        Assert.Equal((ushort)0x10, entry.Cpu.Code.Selector);   // __BOOT_CS
        Assert.Equal(0UL, memory.ReadUInt64(Layout.Pml4));      // no page tables written
    }

    [Fact]
    public void ZeroPageBufferExposesItsFieldsThroughProperties()
    {
        var bootParams = new LinuxBootParams
        {
            RamdiskImage = 0x1_2345_6000,
            RamdiskSize = 0x2_0000_1000,
            CommandLinePointer = 0x20000,
        };

        var bytes = bootParams.Bytes;
        Assert.Equal(P.Size, bytes.Length);
        Assert.Equal(0x2345_6000U, BitConverter.ToUInt32(bytes[P.RamdiskImageOffset..]));
        Assert.Equal(0x1U, BitConverter.ToUInt32(bytes[P.ExtRamdiskImageOffset..]));
        Assert.Equal(0x1000U, BitConverter.ToUInt32(bytes[P.RamdiskSizeOffset..]));
        Assert.Equal(0x2U, BitConverter.ToUInt32(bytes[P.ExtRamdiskSizeOffset..]));
        Assert.Equal(0x1_2345_6000UL, bootParams.RamdiskImage);
    }
}
