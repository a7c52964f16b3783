using Xunit;
using Ember.Devices.Bus;
using Ember.Devices.Legacy;
using Ember.Devices.Tests.Fakes;

namespace Ember.Devices.Tests.Legacy;

public sealed class Serial16550Tests
{
    // Register offsets and values from the PC16550D data sheet, spelled out so the tests do not
    // share constants with the code under test.
    private const ulong Data = 0, Ier = 1, Iir = 2, Fcr = 2, Lcr = 3, Mcr = 4, Lsr = 5, Msr = 6, Scr = 7;
    private const byte IerRx = 0x01, IerThre = 0x02, IerLineStatus = 0x04, IerModem = 0x08;
    private const byte IirNone = 0x01, IirLineStatus = 0x06, IirRx = 0x04, IirTimeout = 0x0C, IirThre = 0x02, IirModem = 0x00;
    private const byte LsrDataReady = 0x01, LsrOverrun = 0x02, LsrThreTemt = 0x60;

    private readonly RecordingSerialOutput _output = new();
    private readonly RecordingInterruptLine _line = new();
    private readonly Serial16550 _uart;

    public Serial16550Tests() => _uart = new Serial16550(_output, _line);

    private byte InterruptId() => (byte)(_uart.ReadByte(Iir) & 0x0F);

    [Fact]
    public void ResetStateMatchesTheDataSheet()
    {
        Assert.Equal(0, _uart.ReadByte(Ier));
        Assert.Equal(IirNone, _uart.ReadByte(Iir));
        Assert.Equal(0, _uart.ReadByte(Lcr));
        Assert.Equal(0, _uart.ReadByte(Mcr));
        Assert.Equal(LsrThreTemt, _uart.ReadByte(Lsr));
        Assert.False(_line.Level);
    }

    [Fact]
    public void TransmitterHoldingRegisterWritesGoToTheOutput()
    {
        foreach (byte b in "hi\n"u8.ToArray())
            _uart.WriteByte(Data, b);

        Assert.Equal("hi\n"u8.ToArray(), _output.Bytes);
        Assert.Equal(LsrThreTemt, _uart.ReadByte(Lsr) & LsrThreTemt);
    }

    [Fact]
    public void DivisorLatchIsBehindDlabAndDoesNotTransmit()
    {
        _uart.WriteByte(Ier, IerRx);
        _uart.WriteByte(Lcr, 0x83); // DLAB + 8N1
        _uart.WriteByte(Data, 0x01);
        _uart.WriteByte(Ier, 0x02);

        Assert.Equal(0x01, _uart.ReadByte(Data));
        Assert.Equal(0x02, _uart.ReadByte(Ier));
        Assert.Equal(0x0201, _uart.Divisor);
        Assert.Empty(_output.Bytes);

        _uart.WriteByte(Lcr, 0x03);
        Assert.Equal(IerRx, _uart.ReadByte(Ier));
        Assert.Equal(0x03, _uart.ReadByte(Lcr));
    }

    [Fact]
    public void InterruptEnableUpperNibbleReadsZero()
    {
        _uart.WriteByte(Ier, 0xFF);

        Assert.Equal(0x0F, _uart.ReadByte(Ier));
    }

    [Fact]
    public void ScratchRegisterReadsBack()
    {
        _uart.WriteByte(Scr, 0xA5);

        Assert.Equal(0xA5, _uart.ReadByte(Scr));
    }

    [Fact]
    public void EnablingThreInterruptWithEmptyThrRaisesTheLine()
    {
        _uart.WriteByte(Ier, IerThre);

        Assert.True(_line.Level);
        Assert.Equal(1, _line.RisingEdges);
        Assert.Equal(IirThre, InterruptId());
    }

    [Fact]
    public void ReadingIirClearsThreAndWritingThrRearmsIt()
    {
        _uart.WriteByte(Ier, IerThre);
        Assert.Equal(IirThre, InterruptId());

        Assert.False(_line.Level);
        Assert.Equal(IirNone, InterruptId());

        _uart.WriteByte(Data, (byte)'x');

        Assert.True(_line.Level);
        Assert.Equal(2, _line.RisingEdges);
        Assert.Equal(IirThre, InterruptId());
    }

    [Fact]
    public void TogglingEtbeiRearmsThreAsLinuxThreBugProbeExpects()
    {
        // drivers/tty/serial/8250: IER=THRI; IIR; IER=0; IER=THRI; IIR must report THRE again.
        _uart.WriteByte(Ier, IerThre);
        byte first = _uart.ReadByte(Iir);
        _uart.WriteByte(Ier, 0);
        _uart.WriteByte(Ier, IerThre);
        byte second = _uart.ReadByte(Iir);

        Assert.Equal(IirThre, first & 0x0F);
        Assert.Equal(IirThre, second & 0x0F);
    }

    [Fact]
    public void RewritingIerWithEtbeiAlreadySetDoesNotRearmThre()
    {
        _uart.WriteByte(Ier, IerThre);
        _ = _uart.ReadByte(Iir);

        _uart.WriteByte(Ier, IerThre | IerRx);

        Assert.Equal(IirNone, InterruptId());
        Assert.False(_line.Level);
    }

    [Fact]
    public void ThreInterruptIsNotRaisedWhileDisabled()
    {
        _uart.WriteByte(Data, (byte)'x');

        Assert.False(_line.Level);
        Assert.Equal(IirNone, InterruptId());
    }

    [Fact]
    public void ReceivedDataRaisesInterruptUntilDrained()
    {
        _uart.WriteByte(Ier, IerRx);
        Assert.Equal(2, _uart.EnqueueInput("ab"u8));

        Assert.True(_line.Level);
        Assert.Equal(IirRx, InterruptId());
        Assert.Equal(LsrDataReady, _uart.ReadByte(Lsr) & LsrDataReady);
        Assert.Equal((byte)'a', _uart.ReadByte(Data));
        Assert.True(_line.Level);
        Assert.Equal((byte)'b', _uart.ReadByte(Data));

        Assert.False(_line.Level);
        Assert.Equal(0, _uart.ReadByte(Lsr) & LsrDataReady);
        Assert.Equal(IirNone, InterruptId());
    }

    [Fact]
    public void ReceiveWithoutInterruptEnableKeepsLineLow()
    {
        _uart.EnqueueInput("a"u8);

        Assert.False(_line.Level);
        Assert.Equal(LsrDataReady, _uart.ReadByte(Lsr) & LsrDataReady);
    }

    [Fact]
    public void NonFifoModeDeliversQueuedInputInOrderThroughTheOneByteReceiver()
    {
        _uart.EnqueueInput("abc"u8);

        byte[] received = [_uart.ReadByte(Data), _uart.ReadByte(Data), _uart.ReadByte(Data)];
        Assert.Equal("abc"u8.ToArray(), received);
        Assert.Equal(0, _uart.ReadByte(Lsr) & LsrDataReady);
        Assert.Equal(0, _uart.DroppedInputBytes);
    }

    [Fact]
    public void FifoEnableShowsInIirTopBits()
    {
        _uart.WriteByte(Fcr, 0x01);
        Assert.Equal(0xC1, _uart.ReadByte(Iir));

        _uart.WriteByte(Fcr, 0x00);
        Assert.Equal(0x01, _uart.ReadByte(Iir));
    }

    [Fact]
    public void BelowTriggerLevelReportsCharacterTimeoutAndAtLevelReportsDataAvailable()
    {
        _uart.WriteByte(Fcr, 0x41); // FIFO on, trigger level 4
        _uart.WriteByte(Ier, IerRx);

        _uart.EnqueueInput("ab"u8);
        Assert.Equal(IirTimeout, InterruptId());

        _uart.EnqueueInput("cd"u8);
        Assert.Equal(IirRx, InterruptId());
        Assert.True(_line.Level);
    }

    [Fact]
    public void FcrClearReceiveDropsTheFifo()
    {
        _uart.WriteByte(Fcr, 0x01);
        _uart.EnqueueInput("abc"u8);

        _uart.WriteByte(Fcr, 0x03);

        Assert.Equal(0, _uart.ReadByte(Lsr) & LsrDataReady);
    }

    [Fact]
    public void InputBeyondFifoAndBacklogIsDroppedCountedAndReportedAsOverrun()
    {
        _uart.WriteByte(Fcr, 0x01);
        _uart.WriteByte(Ier, IerLineStatus | IerRx);
        var flood = new byte[Serial16550.ReceiveFifoCapacity + Serial16550.HostBacklogCapacity + 10];
        for (int i = 0; i < flood.Length; i++)
            flood[i] = (byte)i;

        int accepted = _uart.EnqueueInput(flood);

        Assert.Equal(flood.Length - 10, accepted);
        Assert.Equal(10, _uart.DroppedInputBytes);
        // Line status outranks received data.
        Assert.Equal(IirLineStatus, InterruptId());
        Assert.Equal(LsrOverrun | LsrDataReady, _uart.ReadByte(Lsr) & (LsrOverrun | LsrDataReady));
        Assert.Equal(0, _uart.ReadByte(Lsr) & LsrOverrun);
        Assert.Equal(IirRx, InterruptId());

        // Everything accepted arrives, in order, as the guest drains the FIFO.
        for (int i = 0; i < accepted; i++)
            Assert.Equal((byte)i, _uart.ReadByte(Data));
        Assert.Equal(0, _uart.ReadByte(Lsr) & LsrDataReady);
        Assert.False(_line.Level);
    }

    [Fact]
    public void InterruptPriorityIsReceiveBeforeThreBeforeModemStatus()
    {
        _uart.WriteByte(Ier, IerRx | IerThre | IerModem);
        _uart.WriteByte(Mcr, 0x10); // loopback drops CTS/DSR/DCD: modem status deltas
        _uart.EnqueueInput("z"u8);
        _uart.WriteByte(Mcr, 0x00); // leave loopback so the byte is not affected

        Assert.Equal(IirRx, InterruptId());
        _ = _uart.ReadByte(Data);
        Assert.Equal(IirThre, InterruptId()); // reading it clears THRE
        Assert.Equal(IirModem, InterruptId());
        _ = _uart.ReadByte(Msr);
        Assert.Equal(IirNone, InterruptId());
        Assert.False(_line.Level);
    }

    [Fact]
    public void LoopbackWiresModemControlToModemStatusAsLinuxAutoconfigExpects()
    {
        // 8250 autoconfig: MCR = LOOP | OUT2 | RTS must read back MSR status bits DCD | CTS.
        _uart.WriteByte(Mcr, 0x1A);

        Assert.Equal(0x90, _uart.ReadByte(Msr) & 0xF0);

        _uart.WriteByte(Mcr, 0x15); // LOOP | OUT1 | DTR
        Assert.Equal(0x60, _uart.ReadByte(Msr) & 0xF0); // RI | DSR
    }

    [Fact]
    public void OutsideLoopbackTheModemLooksConnected()
    {
        Assert.Equal(0xB0, _uart.ReadByte(Msr)); // DCD | DSR | CTS, no deltas
    }

    [Fact]
    public void ModemStatusDeltasRaiseInterruptAndClearOnMsrRead()
    {
        _uart.WriteByte(Mcr, 0x12); // loopback with RTS: CTS stays, DSR and DCD drop
        _uart.WriteByte(Ier, IerModem);

        Assert.True(_line.Level);
        byte msr = _uart.ReadByte(Msr);
        Assert.Equal(0x02 | 0x08, msr & 0x0F); // DDSR | DDCD
        Assert.False(_line.Level);
        Assert.Equal(0, _uart.ReadByte(Msr) & 0x0F);
    }

    [Fact]
    public void RingTrailingEdgeIsFlagged()
    {
        _uart.WriteByte(Mcr, 0x14); // loopback, OUT1 -> RI high
        _ = _uart.ReadByte(Msr);
        _uart.WriteByte(Mcr, 0x10); // RI falls

        Assert.Equal(0x04, _uart.ReadByte(Msr) & 0x0F); // TERI only
    }

    [Fact]
    public void LoopbackSendsTransmittedBytesToTheReceiverNotTheOutput()
    {
        _uart.WriteByte(Mcr, 0x10);
        _uart.WriteByte(Data, 0x42);

        Assert.Empty(_output.Bytes);
        Assert.Equal(LsrDataReady, _uart.ReadByte(Lsr) & LsrDataReady);
        Assert.Equal(0x42, _uart.ReadByte(Data));
    }

    [Fact]
    public void HostInputWaitsWhileLoopbackDisconnectsTheReceiver()
    {
        _uart.WriteByte(Mcr, 0x10);
        _uart.EnqueueInput("h"u8);
        Assert.Equal(0, _uart.ReadByte(Lsr) & LsrDataReady);

        _uart.WriteByte(Mcr, 0x00);

        Assert.Equal((byte)'h', _uart.ReadByte(Data));
    }

    [Fact]
    public void LoopbackOverrunSetsOverrunError()
    {
        _uart.WriteByte(Mcr, 0x10);
        _uart.WriteByte(Data, 1);
        _uart.WriteByte(Data, 2); // non-FIFO receiver already holds a byte

        Assert.Equal(LsrOverrun, _uart.ReadByte(Lsr) & LsrOverrun);
        Assert.Equal(1, _uart.DroppedInputBytes);
        Assert.Equal(1, _uart.ReadByte(Data));
    }

    [Theory]
    [InlineData(0UL, 2)]
    [InlineData(0UL, 4)]
    [InlineData(8UL, 1)]
    [InlineData(ulong.MaxValue, 1)]
    public void OddAccessesAreIgnoredAndCounted(ulong offset, int width)
    {
        var data = new byte[width];
        _uart.Read(offset, data);
        _uart.Write(offset, data);

        Assert.All(data, b => Assert.Equal(0, b));
        Assert.Empty(_output.Bytes);
        Assert.Equal(2, _uart.UnhandledAccesses);
    }

    [Fact]
    public void WorksThroughTheBusAtAnyBase()
    {
        var bus = new DeviceBus();
        bus.Register(0x3F8, Serial16550.Length, _uart);

        bus.Write(0x3FF, [0x5A]);
        var data = new byte[1];
        bus.Read(0x3FF, data);

        Assert.Equal(0x5A, data[0]);
    }

    [Fact]
    public void StateRoundTripPreservesRegistersBuffersAndInterrupt()
    {
        _uart.WriteByte(Lcr, 0x80);
        _uart.WriteByte(Data, 0x0C);
        _uart.WriteByte(Lcr, 0x03);
        _uart.WriteByte(Fcr, 0x81); // FIFO, trigger 8
        _uart.WriteByte(Ier, IerRx);
        _uart.WriteByte(Scr, 0x77);
        _uart.EnqueueInput(new byte[Serial16550.ReceiveFifoCapacity + 3]);

        var state = _uart.GetState();
        var line = new RecordingInterruptLine();
        var restored = Serial16550.FromState(state, new RecordingSerialOutput(), line);

        Assert.Equal(state with { ReceiveFifo = [], HostBacklog = [] }, restored.GetState() with { ReceiveFifo = [], HostBacklog = [] });
        Assert.Equal(state.ReceiveFifo, restored.GetState().ReceiveFifo);
        Assert.Equal(state.HostBacklog, restored.GetState().HostBacklog);
        Assert.Equal(0x0C, restored.Divisor);
        Assert.True(line.Level);
        Assert.Equal(IirRx, restored.ReadByte(Iir) & 0x0F);
    }

    [Fact]
    public void FromStateRejectsOversizedBuffers()
    {
        var state = _uart.GetState() with { ReceiveFifo = new byte[2] }; // non-FIFO mode holds one byte

        Assert.Throws<ArgumentException>(() => Serial16550.FromState(state, _output, _line));
    }
}
