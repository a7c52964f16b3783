using Ember.Devices.Pci;
using Xunit;

namespace Ember.Devices.Tests.Pci;

/// <summary>BAR sizing and decoding (PCI Local Bus 3.0 §6.2.5.1).</summary>
public sealed class PciBarTests
{
    private readonly PciConfigSpace _space = new(new PciFunctionIdentity(0x1AF4, 0x1041, new PciClassCode(0x02, 0x00, 0x00)));
    private readonly List<PciBarMove> _moves = [];

    public PciBarTests() => _space.BarMoved += _moves.Add;

    [Theory]
    [InlineData(0x10UL, false, 0xFFFF_FFF0u)]
    [InlineData(0x1000UL, false, 0xFFFF_F000u)]
    [InlineData(0x1000UL, true, 0xFFFF_F008u)]
    [InlineData(0x8000_0000UL, false, 0x8000_0000u)]
    public void Memory32BarReadsBackItsSizeMask(ulong size, bool prefetchable, uint expected)
    {
        _space.SetBar(0, PciBar.Memory32(size, prefetchable));
        Assert.Equal(prefetchable ? 0x8u : 0x0u, _space.GuestRead32(0x10));
        _space.GuestWrite32(0x10, 0xFFFF_FFFF);
        uint probed = _space.GuestRead32(0x10);
        Assert.Equal(expected, probed);
        // What an OS computes from it: invert the address bits and add one.
        Assert.Equal(size, (ulong)(~(probed & 0xFFFF_FFF0) + 1));
    }

    [Fact]
    public void Memory64BarSizesAcrossBothDwords()
    {
        _space.SetBar(2, PciBar.Memory64(0x2_0000_0000, prefetchable: true));
        Assert.Equal(0x0Cu, _space.GuestRead32(0x18));
        _space.GuestWrite32(0x18, 0xFFFF_FFFF);
        _space.GuestWrite32(0x1C, 0xFFFF_FFFF);
        ulong probed = _space.GuestRead32(0x18) | (ulong)_space.GuestRead32(0x1C) << 32;
        Assert.Equal(0xFFFF_FFFE_0000_000CUL, probed);
        Assert.Equal(0x2_0000_0000UL, ~(probed & ~0xFUL) + 1);
    }

    [Fact]
    public void SmallMemory64BarHasAFullyWritableUpperHalf()
    {
        _space.SetBar(0, PciBar.Memory64(0x4000));
        _space.GuestWrite32(0x10, 0xFFFF_FFFF);
        _space.GuestWrite32(0x14, 0xFFFF_FFFF);
        Assert.Equal(0xFFFF_C004u, _space.GuestRead32(0x10));
        Assert.Equal(0xFFFF_FFFFu, _space.GuestRead32(0x14));
    }

    [Fact]
    public void IoBarDecodesSixteenBits()
    {
        _space.SetBar(1, PciBar.Io(0x20));
        Assert.Equal(0x1u, _space.GuestRead32(0x14));
        _space.GuestWrite32(0x14, 0xFFFF_FFFF);
        Assert.Equal(0x0000_FFE1u, _space.GuestRead32(0x14));
    }

    [Fact]
    public void UnimplementedBarsReadZeroAndIgnoreProbes()
    {
        _space.SetBar(0, PciBar.Memory32(0x1000));
        for (int offset = 0x14; offset <= 0x24; offset += 4)
        {
            _space.GuestWrite32(offset, 0xFFFF_FFFF);
            Assert.Equal(0u, _space.GuestRead32(offset));
        }
    }

    [Fact]
    public void ProbeThenRestoreKeepsTheAddress()
    {
        _space.SetBar(0, PciBar.Memory32(0x1000));
        _space.SetBarAddress(0, 0xC000_1000);
        uint saved = _space.GuestRead32(0x10);
        _space.GuestWrite32(0x10, 0xFFFF_FFFF);
        _space.GuestWrite32(0x10, saved);
        Assert.Equal(0xC000_1000u, _space.GuestRead32(0x10));
        Assert.Equal(0xC000_1000UL, _space.BarAddress(0));
        // Decoding was off throughout: nothing moved.
        Assert.Empty(_moves);
    }

    [Fact]
    public void GuestAddressesAreMaskedToTheBarsAlignment()
    {
        _space.SetBar(0, PciBar.Memory32(0x1000));
        _space.GuestWrite32(0x10, 0xC000_1234);
        Assert.Equal(0xC000_1000UL, _space.BarAddress(0));
    }

    [Fact]
    public void EnablingMemoryDecodingMapsTheBarAndDisablingUnmapsIt()
    {
        var bar = PciBar.Memory32(0x1000);
        _space.SetBar(0, bar);
        _space.SetBar(1, PciBar.Io(0x10));
        _space.SetBarAddress(0, 0xC000_0000);
        _space.SetBarAddress(1, 0x6000);

        _space.GuestWrite16(0x04, (ushort)PciCommand.MemorySpace);
        Assert.Equal([new PciBarMove(0, bar, null, 0xC000_0000)], _moves);
        Assert.Equal(0xC000_0000UL, _space.DecodedBarAddress(0));
        Assert.Null(_space.DecodedBarAddress(1));

        _moves.Clear();
        _space.GuestWrite16(0x04, 0);
        Assert.Equal([new PciBarMove(0, bar, 0xC000_0000, null)], _moves);
    }

    [Fact]
    public void IoSpaceBitGatesOnlyIoBars()
    {
        var io = PciBar.Io(0x10);
        _space.SetBar(0, PciBar.Memory32(0x1000));
        _space.SetBar(1, io);
        _space.SetBarAddress(1, 0x6000);
        _space.GuestWrite16(0x04, (ushort)PciCommand.IoSpace);
        Assert.Equal([new PciBarMove(1, io, null, 0x6000)], _moves);
    }

    [Fact]
    public void MovingADecodedBarReportsOldAndNewAddress()
    {
        var bar = PciBar.Memory32(0x1000);
        _space.SetBar(0, bar);
        _space.SetBarAddress(0, 0xC000_0000);
        _space.GuestWrite16(0x04, (ushort)PciCommand.MemorySpace);
        _moves.Clear();

        _space.GuestWrite32(0x10, 0xD000_0000);
        Assert.Equal([new PciBarMove(0, bar, 0xC000_0000, 0xD000_0000)], _moves);

        // Writing the same address again is no move.
        _moves.Clear();
        _space.GuestWrite32(0x10, 0xD000_0000);
        Assert.Empty(_moves);
    }

    [Fact]
    public void Memory64BarMovesWithEachHalf()
    {
        var bar = PciBar.Memory64(0x1000);
        _space.SetBar(0, bar);
        _space.SetBarAddress(0, 0x1_0000_0000);
        _space.GuestWrite16(0x04, (ushort)PciCommand.MemorySpace);
        Assert.Equal(new PciBarMove(0, bar, null, 0x1_0000_0000), Assert.Single(_moves));

        _moves.Clear();
        _space.GuestWrite32(0x14, 0x2);
        Assert.Equal(new PciBarMove(0, bar, 0x1_0000_0000, 0x2_0000_0000), Assert.Single(_moves));
    }

    [Fact]
    public void VmmPlacementWhileDecodingRaisesAMove()
    {
        var bar = PciBar.Memory32(0x100);
        _space.SetBar(5, bar);
        _space.GuestWrite16(0x04, (ushort)PciCommand.MemorySpace);
        _moves.Clear();
        _space.SetBarAddress(5, 0xC000_0100);
        Assert.Equal(new PciBarMove(5, bar, 0, 0xC000_0100), Assert.Single(_moves));
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(8UL)]
    [InlineData(0x3000UL)]
    [InlineData(0x1_0000_0000UL)]
    public void MemoryBarSizesMustBePowersOfTwoFrom16Bytes(ulong size) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => PciBar.Memory32(size));

    [Theory]
    [InlineData(2UL)]
    [InlineData(0x200UL)]
    [InlineData(6UL)]
    public void IoBarSizesArePowersOfTwoFrom4To256Bytes(ulong size) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => PciBar.Io(size));

    [Fact]
    public void BarSlotsCannotBeSharedOrRunPastTheHeader()
    {
        _space.SetBar(4, PciBar.Memory64(0x1000));
        Assert.Throws<InvalidOperationException>(() => _space.SetBar(5, PciBar.Memory32(0x1000)));
        Assert.Throws<InvalidOperationException>(() => _space.SetBar(4, PciBar.Memory32(0x1000)));
        Assert.Throws<ArgumentOutOfRangeException>(() => _space.SetBar(5, PciBar.Memory64(0x1000)));
        Assert.Throws<ArgumentOutOfRangeException>(() => _space.SetBar(6, PciBar.Memory32(0x1000)));
        Assert.Throws<ArgumentException>(() => _space.SetBar(0, default));
        Assert.Null(_space.Bar(5));
    }

    [Fact]
    public void PlacementMustFitTheBar()
    {
        _space.SetBar(0, PciBar.Memory32(0x1000));
        _space.SetBar(1, PciBar.Io(0x10));
        Assert.Throws<ArgumentOutOfRangeException>(() => _space.SetBarAddress(0, 0xC000_0800));
        Assert.Throws<ArgumentOutOfRangeException>(() => _space.SetBarAddress(0, 0x1_0000_0000));
        Assert.Throws<ArgumentOutOfRangeException>(() => _space.SetBarAddress(1, 0x1_0000));
        Assert.Throws<ArgumentException>(() => _space.SetBarAddress(2, 0));
    }

    [Fact]
    public void ByteWritesBuildAnAddress()
    {
        _space.SetBar(0, PciBar.Memory32(0x1000));
        _space.GuestWrite8(0x13, 0xC0);
        _space.GuestWrite8(0x11, 0x20);
        _space.GuestWrite8(0x10, 0xFF);   // the type bits ignore it
        Assert.Equal(0xC000_2000u, _space.GuestRead32(0x10));
    }
}
