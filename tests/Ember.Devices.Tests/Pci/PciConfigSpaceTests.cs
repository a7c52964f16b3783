using Ember.Devices.Pci;
using Xunit;

namespace Ember.Devices.Tests.Pci;

public sealed class PciConfigSpaceTests
{
    private static readonly PciFunctionIdentity Identity = new(0x1AF4, 0x1042, new PciClassCode(0x01, 0x80, 0x00))
    {
        RevisionId = 0x01,
        SubsystemVendorId = 0x1AF4,
        SubsystemId = 0x0002,
        InterruptPin = PciInterruptPin.IntA,
    };

    private readonly PciConfigSpace _space = new(Identity);

    [Fact]
    public void HeaderReportsTheIdentity()
    {
        Assert.Equal(0x1042_1AF4u, _space.GuestRead32(0x00));
        Assert.Equal(0x0180_0001u, _space.GuestRead32(0x08));
        Assert.Equal(0x0002_1AF4u, _space.GuestRead32(0x2C));
        Assert.Equal(0x00, _space.GuestRead8(0x0E));
        Assert.Equal(0x01, _space.GuestRead8(0x3D));
        // No capabilities yet: pointer 0, status bit 4 clear.
        Assert.Equal(0, _space.GuestRead8(0x34));
        Assert.Equal(0, _space.GuestRead16(0x06) & 0x10);
    }

    [Fact]
    public void IdentityRegistersAreReadOnly()
    {
        foreach (int offset in new[] { 0x00, 0x08, 0x2C, 0x30, 0x34 })
        {
            uint before = _space.GuestRead32(offset);
            _space.GuestWrite32(offset, ~before);
            Assert.Equal(before, _space.GuestRead32(offset));
        }
        _space.GuestWrite8(0x0E, 0x80);
        Assert.Equal(0x00, _space.GuestRead8(0x0E));
        _space.GuestWrite8(0x3D, 0x04);
        Assert.Equal(0x01, _space.GuestRead8(0x3D));
    }

    [Fact]
    public void CommandRegisterKeepsOnlyImplementedBits()
    {
        _space.GuestWrite16(0x04, 0xFFFF);
        Assert.Equal(0x0547, _space.GuestRead16(0x04));
        Assert.Equal(PciCommand.IoSpace | PciCommand.MemorySpace | PciCommand.BusMaster | PciCommand.ParityErrorResponse
            | PciCommand.SerrEnable | PciCommand.InterruptDisable, _space.Command);
        _space.GuestWrite16(0x04, 0x0000);
        Assert.Equal(0, _space.GuestRead16(0x04));
    }

    [Fact]
    public void StatusErrorBitsAreWriteOneToClear()
    {
        _space.RaiseStatus(PciStatus.ReceivedMasterAbort | PciStatus.DetectedParityError);
        Assert.Equal(0xA000, _space.GuestRead16(0x06));

        // Writing 0 leaves them; writing 1 to one clears only that one.
        _space.GuestWrite16(0x06, 0x0000);
        Assert.Equal(0xA000, _space.GuestRead16(0x06));
        _space.GuestWrite16(0x06, 0x2000);
        Assert.Equal(0x8000, _space.GuestRead16(0x06));

        // A byte write to the upper half works too, and the guest can never set a bit.
        _space.GuestWrite8(0x07, 0xFF);
        Assert.Equal(0x0000, _space.GuestRead16(0x06));
        _space.GuestWrite16(0x06, 0xFFFF);
        Assert.Equal(0x0000, _space.GuestRead16(0x06));
    }

    [Fact]
    public void DwordWritesOfCommandTouchStatusOnlyWhereTheyWriteOnes()
    {
        _space.GuestWrite16(0x04, (ushort)PciCommand.MemorySpace);
        _space.RaiseStatus(PciStatus.SignaledTargetAbort);
        uint dword = _space.GuestRead32(0x04);
        Assert.Equal(0x0800_0002u, dword);

        // Zeros in the Status half leave its error bits alone...
        _space.GuestWrite32(0x04, (dword & 0xFFFF) | (uint)PciCommand.BusMaster);
        Assert.Equal(0x0800_0006u, _space.GuestRead32(0x04));

        // ...and writing back what was read clears them: W1C's documented read-modify-write hazard.
        _space.GuestWrite32(0x04, _space.GuestRead32(0x04));
        Assert.Equal(0x0000_0006u, _space.GuestRead32(0x04));
    }

    [Fact]
    public void InterruptStatusIsDeviceSetAndReadOnly()
    {
        _space.SetInterruptStatus(true);
        Assert.Equal(0x08, _space.GuestRead16(0x06));
        _space.GuestWrite16(0x06, 0x0008);
        Assert.Equal(0x08, _space.GuestRead16(0x06));
        _space.SetInterruptStatus(false);
        Assert.Equal(0x00, _space.GuestRead16(0x06));
    }

    [Fact]
    public void InterruptLineAndCacheLineSizeAreScratch()
    {
        _space.InterruptLine = 10;
        Assert.Equal(10, _space.GuestRead8(0x3C));
        _space.GuestWrite8(0x3C, 11);
        Assert.Equal(11, _space.InterruptLine);
        _space.GuestWrite8(0x0C, 0x10);
        Assert.Equal(0x10, _space.GuestRead8(0x0C));
        // Latency timer beside it is hardwired.
        _space.GuestWrite8(0x0D, 0x40);
        Assert.Equal(0, _space.GuestRead8(0x0D));
    }

    [Theory]
    [InlineData(0x01)]
    [InlineData(0x02)]
    [InlineData(0x03)]
    public void UnalignedAccessesInsideTheSpaceWork(int offset)
    {
        // Vendor 0x1AF4, device 0x1042: bytes F4 1A 42 10.
        byte[] bytes = [0xF4, 0x1A, 0x42, 0x10, 0x00, 0x00];
        ushort expected = (ushort)(bytes[offset] | bytes[offset + 1] << 8);
        Assert.Equal(expected, _space.GuestRead16(offset));
    }

    [Theory]
    [InlineData(-1, 1)]
    [InlineData(-4, 4)]
    [InlineData(4096, 1)]
    [InlineData(4095, 2)]
    [InlineData(4093, 4)]
    [InlineData(int.MaxValue, 4)]
    [InlineData(int.MinValue, 4)]
    [InlineData(0, 3)]
    [InlineData(0, 8)]
    [InlineData(0, 0)]
    public void HostileAccessesReadAllOnesAndAreDropped(int offset, int width)
    {
        var data = new byte[width];
        _space.Read(offset, data);
        Assert.All(data, b => Assert.Equal(0xFF, b));

        var before = Snapshot(_space);
        _space.Write(offset, new byte[width]);
        Assert.Equal(before, Snapshot(_space));
        Assert.Equal(2, _space.DroppedAccesses);
    }

    [Fact]
    public void LastBytesOfTheExtendedSpaceAreReachable()
    {
        Assert.Equal(0u, _space.GuestRead32(4092));
        Assert.Equal(0, _space.GuestRead8(4095));
        Assert.Equal(0, _space.DroppedAccesses);
    }

    [Fact]
    public void VendorIdOfAllOnesIsRefused() =>
        Assert.Throws<ArgumentException>(() => new PciConfigSpace(new PciFunctionIdentity(0xFFFF, 0, PciClassCode.HostBridge)));

    [Fact]
    public void RawAccessorsRejectOffsetsOutsideTheSpace()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _space.ReadUInt32(4094));
        Assert.Throws<ArgumentOutOfRangeException>(() => _space.SetByte(-1, 0));
    }

    [Fact]
    public void HandlerSeesTheOverlappingPartOfAnAccess()
    {
        var handler = new RecordingHandler();
        _space.AddHandler(0x41, 2, handler);
        _space.GuestWrite32(0x40, 0);
        _space.GuestRead32(0x40);
        _space.GuestRead8(0x43);

        Assert.Equal([(0x41, 2)], handler.Writes);
        Assert.Equal([(0x41, 2)], handler.Reads);
    }

    [Fact]
    public void HandlerCanComputeWhatTheGuestReads()
    {
        var handler = new RecordingHandler { OnRead = space => space.SetUInt16(0x48, 0xBEEF) };
        _space.AddHandler(0x48, 2, handler);
        Assert.Equal(0xBEEF, _space.GuestRead16(0x48));
    }

    internal static byte[] Snapshot(PciConfigSpace space)
    {
        var bytes = new byte[PciConfigSpace.Size];
        for (int i = 0; i < bytes.Length; i++)
            bytes[i] = space.ReadByte(i);
        return bytes;
    }

    private sealed class RecordingHandler : IPciConfigHandler
    {
        public List<(int, int)> Reads { get; } = [];
        public List<(int, int)> Writes { get; } = [];
        public Action<PciConfigSpace>? OnRead { get; init; }

        public void BeforeGuestRead(PciConfigSpace space, int offset, int length)
        {
            Reads.Add((offset, length));
            OnRead?.Invoke(space);
        }

        public void AfterGuestWrite(PciConfigSpace space, int offset, int length) => Writes.Add((offset, length));
    }
}
