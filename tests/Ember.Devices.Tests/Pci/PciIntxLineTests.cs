using Ember.Devices.Pci;
using Ember.Devices.Tests.Fakes;

namespace Ember.Devices.Tests.Pci;

public sealed class PciIntxLineTests
{
    private readonly PciConfigSpace _config = new(new PciFunctionIdentity(0x1AF4, 0x1042, new PciClassCode(0x01, 0x00, 0x00)) { InterruptPin = PciInterruptPin.IntA });
    private readonly RecordingInterruptLine _wire = new();
    private readonly PciIntxLine _intx;

    public PciIntxLineTests() => _intx = new PciIntxLine(_config, _wire);

    private bool StatusBit3 => (_config.GuestRead16(PciConfigRegisters.Status) & (ushort)PciStatus.InterruptStatus) != 0;

    [Fact]
    public void AnAssertedRequestDrivesTheWireAndShowsInStatusBit3()
    {
        Assert.False(StatusBit3);
        _intx.SetAsserted(true);
        Assert.True(_wire.Level);
        Assert.True(StatusBit3);
        Assert.True((_config.GuestRead32(PciConfigRegisters.Command) & ((uint)PciStatus.InterruptStatus << 16)) != 0, "a dword read of Command/Status misses bit 3");

        _intx.SetAsserted(false);
        Assert.False(_wire.Level);
        Assert.False(StatusBit3);
    }

    [Fact]
    public void InterruptDisableHoldsTheWireLowButStatusStillShowsTheRequest()
    {
        _intx.SetAsserted(true);
        _config.GuestWrite16(PciConfigRegisters.Command, (ushort)(PciCommand.MemorySpace | PciCommand.InterruptDisable));
        Assert.False(_wire.Level);
        Assert.True(StatusBit3);
        Assert.True(_intx.IsAsserted);

        // Cleared again with the request still up: the wire goes back up (PCI 3.0 §6.2.2, bit 10).
        _config.GuestWrite8(PciConfigRegisters.Command + 1, 0);
        Assert.True(_wire.Level);
        Assert.Equal([true, false, true], _wire.History);
    }

    [Fact]
    public void StatusBit3IsReadOnlyToTheGuest()
    {
        _config.GuestWrite16(PciConfigRegisters.Status, (ushort)PciStatus.InterruptStatus);
        Assert.False(StatusBit3);
        _intx.SetAsserted(true);
        _config.GuestWrite16(PciConfigRegisters.Status, 0xFFFF);   // write-1-to-clear bits only: bit 3 stays
        Assert.True(StatusBit3);
    }

    [Fact]
    public void InterruptPinIsReadOnlyAndInterruptLineIsScratch()
    {
        Assert.Equal((byte)PciInterruptPin.IntA, _config.GuestRead8(PciConfigRegisters.InterruptPin));
        _config.GuestWrite8(PciConfigRegisters.InterruptPin, 3);
        Assert.Equal((byte)PciInterruptPin.IntA, _config.GuestRead8(PciConfigRegisters.InterruptPin));

        _config.InterruptLine = 10;                                   // what the VMM routed
        Assert.Equal(10, _config.GuestRead8(PciConfigRegisters.InterruptLine));
        _config.GuestWrite8(PciConfigRegisters.InterruptLine, 0x0B);  // the OS's own note
        Assert.Equal(0x0B, _config.GuestRead8(PciConfigRegisters.InterruptLine));
    }
}
