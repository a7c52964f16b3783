using Ember.Devices.Legacy;
using Ember.Devices.Tests.Fakes;
using Xunit;

namespace Ember.Devices.Tests.Legacy;

/// <summary>Keys the host presses (SendCtrlAltDel) reach the guest through the data port, one IRQ 1 edge per byte.</summary>
public sealed class I8042KeyboardTests
{
    private const ulong DataPort = 0, CommandPort = 4;
    private const byte StatusOutputFull = 0x01;

    private readonly RecordingInterruptLine _irq1 = new();
    private readonly I8042Controller _controller;

    public I8042KeyboardTests() => _controller = new I8042Controller(_irq1);

    /// <summary>Reads the way a keyboard interrupt handler does: while the status says a byte waits, take it.</summary>
    private List<byte> Drain()
    {
        var bytes = new List<byte>();
        while ((_controller.ReadByte(CommandPort) & StatusOutputFull) != 0 && bytes.Count < 64)
            bytes.Add(_controller.ReadByte(DataPort));
        return bytes;
    }

    [Fact]
    public void CtrlAltDelArrivesInScanCodeSet1WhileTheControllerTranslates()
    {
        Assert.True(_controller.PressCtrlAltDel());
        Assert.Equal(1, _irq1.RisingEdges);
        Assert.Equal([0x1D, 0x38, 0xE0, 0x53, 0xE0, 0xD3, 0xB8, 0x9D], Drain());
        Assert.Equal(8, _irq1.RisingEdges);
        Assert.False(_irq1.Level);
    }

    [Fact]
    public void WithoutTranslationTheKeysAreScanCodeSet2()
    {
        _controller.WriteByte(CommandPort, 0x60);
        _controller.WriteByte(DataPort, 0x05); // interrupt on, system flag, no translation
        Assert.True(_controller.PressCtrlAltDel());
        Assert.Equal([0x14, 0x11, 0xE0, 0x71, 0xE0, 0xF0, 0x71, 0xF0, 0x11, 0xF0, 0x14], Drain());
    }

    [Fact]
    public void ADisabledKeyboardHoldsTheKeysUntilItIsEnabled()
    {
        _controller.WriteByte(CommandPort, 0xAD);
        Assert.True(_controller.PressCtrlAltDel());
        Assert.Empty(Drain());
        Assert.Equal(0, _irq1.RisingEdges);
        _controller.WriteByte(CommandPort, 0xAE);
        Assert.Equal(1, _irq1.RisingEdges);
        Assert.Equal(8, Drain().Count);
    }

    [Fact]
    public void WithTheKeyboardInterruptOffTheKeysArePolledWithoutIrq1()
    {
        _controller.WriteByte(CommandPort, 0x60);
        _controller.WriteByte(DataPort, 0x44);
        Assert.True(_controller.PressCtrlAltDel());
        Assert.Equal(8, Drain().Count);
        Assert.Equal(0, _irq1.RisingEdges);
    }

    [Fact]
    public void PressesTheGuestNeverReadsAreBounded()
    {
        int accepted = 0;
        while (_controller.PressCtrlAltDel() && accepted < 100)
            accepted++;
        Assert.Equal((I8042Controller.MaximumQueuedKeyBytes + 1) / 8, accepted);
        Assert.Equal(accepted * 8, Drain().Count);
        Assert.True(_controller.PressCtrlAltDel(), "once read, the queue takes keys again");
    }

    [Fact]
    public void AControllerResponseIsNotOverwrittenByAKey()
    {
        _controller.WriteByte(CommandPort, 0xAA);
        Assert.True(_controller.PressCtrlAltDel());
        var bytes = Drain();
        Assert.Equal(0x55, bytes[0]);
        Assert.Equal(0x1D, bytes[1]);
    }
}
