using Ember.Devices.Bus;
using Ember.Devices.Interrupts;
using static Ember.Devices.Legacy.Uart16550Registers;

namespace Ember.Devices.Legacy;

/// <summary>
/// A 16550A UART (PC16550D data sheet): eight byte-wide registers at offsets 0–7, the divisor
/// latch behind LCR.DLAB, FIFO mode, loopback, and the four prioritised interrupt sources.
/// Transmission is instantaneous: a THR write goes straight to the <see cref="ISerialOutput"/>
/// and the THR is empty again at once.
/// <para>
/// Receive path: the host pushes bytes with <see cref="EnqueueInput"/>. They land in the
/// guest-visible receive FIFO (<see cref="ReceiveFifoCapacity"/> bytes in FIFO mode, one byte
/// — the receiver buffer register — in 16450 mode) and, when that is full, in a host-side
/// backlog of <see cref="HostBacklogCapacity"/> bytes that refills the FIFO as the guest reads.
/// The backlog stands for the wire: it is held while loopback disconnects the receiver. Bytes
/// beyond both caps are dropped, counted in <see cref="DroppedInputBytes"/> and reported to
/// the guest as an overrun error (LSR.OE), which is what a real UART does when a byte is lost.
/// </para>
/// <para>
/// Interrupt: the line is driven high exactly while IIR reports an interrupt pending, so an
/// edge-triggered PIC sees a rising edge whenever one becomes pending. The INTR output is not
/// gated by MCR.OUT2 (as on PC boards) because guests written against other VMMs rely on that.
/// SetLevel is called with the UART lock held (lock order: UART, then interrupt line); the
/// line must not call back into this device.
/// </para>
/// Threat model: the guest controls every register write and can flood the THR; nothing it
/// writes is buffered here (output is synchronous), every receive buffer is capped, and any
/// access that is not one byte wide inside the eight registers is dropped and counted.
/// </summary>
public sealed class Serial16550 : IBusDevice
{
    /// <summary>The UART decodes eight consecutive byte registers.</summary>
    public const ulong Length = 8;

    /// <summary>
    /// Receive FIFO depth in FIFO mode. A real 16550A has 16; a deeper FIFO loses less input
    /// when a vCPU is descheduled, and a fixed cap closes the hole of an unbounded queue
    /// (CVE-2020-27173 in Firecracker's serial device).
    /// </summary>
    public const int ReceiveFifoCapacity = 64;

    /// <summary>Host-side bytes waiting for room in the receive FIFO (e.g. a pasted line).</summary>
    public const int HostBacklogCapacity = 4096;

    /// <summary>In 16450 (non-FIFO) mode the receiver holds one character (data sheet §8.5, FCR0 = 0).</summary>
    private const int ReceiverBufferCapacity = 1;

    /// <summary>Divisor 12 = 9600 baud from the 1.8432 MHz PC clock; the reset value is undefined, this is conventional.</summary>
    private const ushort DefaultDivisor = 12;

    /// <summary>
    /// Outside loopback, the modem inputs report a connected peer (CTS, DSR, DCD asserted, no
    /// ring) so drivers that honour hardware flow control keep transmitting.
    /// </summary>
    private const byte ConnectedModemLines = MsrCts | MsrDsr | MsrDcd;

    /// <summary>FCR bits 7:6 select the receive trigger level (data sheet Table III).</summary>
    private static ReadOnlySpan<byte> TriggerLevels => [1, 4, 8, 14];

    private readonly Lock _lock = new();
    private readonly ISerialOutput _output;
    private readonly IInterruptLine _interrupt;
    private readonly Queue<byte> _receiveFifo = new(ReceiveFifoCapacity);
    private readonly Queue<byte> _hostBacklog = new(HostBacklogCapacity);

    private byte _divisorLow = DefaultDivisor & 0xFF;
    private byte _divisorHigh = DefaultDivisor >> 8;
    private byte _interruptEnable;
    private byte _lineControl;
    private byte _modemControl;
    private byte _scratch;
    private bool _fifoEnabled;
    private byte _triggerLevel = 1;
    private bool _overrunError;
    private byte _modemStatusDeltas;
    private byte _modemLines = ConnectedModemLines;
    private bool _thrEmptyArmed;
    private bool _interruptLevel;
    private long _droppedInputBytes;
    private long _unhandledAccesses;

    public Serial16550(ISerialOutput output, IInterruptLine interrupt)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(interrupt);
        _output = output;
        _interrupt = interrupt;
    }

    /// <summary>Host input bytes lost because the FIFO and the backlog were full, plus loopback overruns.</summary>
    public long DroppedInputBytes => Interlocked.Read(ref _droppedInputBytes);

    /// <summary>Guest accesses with a width other than one byte or outside the eight registers.</summary>
    public long UnhandledAccesses => Interlocked.Read(ref _unhandledAccesses);

    /// <summary>The divisor latch (DLM:DLL); the guest's chosen baud rate is 115200 / divisor.</summary>
    public ushort Divisor
    {
        get { lock (_lock) return (ushort)(_divisorHigh << 8 | _divisorLow); }
    }

    public void Read(ulong offset, Span<byte> data)
    {
        if (data.Length != 1 || offset >= Length)
        {
            Interlocked.Increment(ref _unhandledAccesses);
            return;
        }
        lock (_lock)
        {
            data[0] = ReadRegister(offset);
            UpdateInterruptLocked();
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (data.Length != 1 || offset >= Length)
        {
            Interlocked.Increment(ref _unhandledAccesses);
            return;
        }
        bool transmit;
        byte value = data[0];
        lock (_lock)
        {
            transmit = WriteRegister(offset, value);
            UpdateInterruptLocked();
        }
        // Outside the lock: a blocking console must not stall host input or other vCPUs' register access.
        if (transmit)
            _output.Write(new ReadOnlySpan<byte>(in value));
    }

    /// <summary>
    /// Host side of the wire: queues bytes for the guest to read. Returns how many were
    /// accepted; the rest are dropped (see <see cref="DroppedInputBytes"/>).
    /// </summary>
    public int EnqueueInput(ReadOnlySpan<byte> bytes)
    {
        int accepted = 0;
        lock (_lock)
        {
            foreach (byte b in bytes)
            {
                // Arrival order is kept: a byte goes straight to the FIFO only when nothing waits before it.
                if (_hostBacklog.Count == 0 && CanReceiveFromWireLocked())
                {
                    _receiveFifo.Enqueue(b);
                    accepted++;
                }
                else if (_hostBacklog.Count < HostBacklogCapacity)
                {
                    _hostBacklog.Enqueue(b);
                    accepted++;
                }
                else
                {
                    LoseReceivedByteLocked();
                }
            }
            UpdateInterruptLocked();
        }
        return accepted;
    }

    private bool Loopback => (_modemControl & McrLoopback) != 0;
    private bool DivisorLatchAccess => (_lineControl & LcrDivisorLatchAccess) != 0;
    private int ReceiveCapacity => _fifoEnabled ? ReceiveFifoCapacity : ReceiverBufferCapacity;

    private bool CanReceiveFromWireLocked() => !Loopback && _receiveFifo.Count < ReceiveCapacity;

    private void LoseReceivedByteLocked()
    {
        _overrunError = true;
        Interlocked.Increment(ref _droppedInputBytes);
    }

    private void RefillFromBacklogLocked()
    {
        while (_hostBacklog.Count > 0 && CanReceiveFromWireLocked())
            _receiveFifo.Enqueue(_hostBacklog.Dequeue());
    }

    private byte ReadRegister(ulong offset)
    {
        switch (offset)
        {
            case Data:
                if (DivisorLatchAccess)
                    return _divisorLow;
                return ReadReceiveBufferLocked();
            case InterruptEnable:
                return DivisorLatchAccess ? _divisorHigh : _interruptEnable;
            case InterruptId:
            {
                byte id = CurrentInterruptId();
                // §8.4 Table IV: reading IIR clears a THR-empty interrupt when it is the one reported.
                if (id == IirTransmitterEmpty)
                    _thrEmptyArmed = false;
                return (byte)(id | (_fifoEnabled ? IirFifosEnabled : 0));
            }
            case LineControl:
                return _lineControl;
            case ModemControl:
                return _modemControl;
            case LineStatus:
            {
                byte lsr = LsrThrEmpty | LsrTransmitterEmpty;
                if (_receiveFifo.Count > 0)
                    lsr |= LsrDataReady;
                if (_overrunError)
                    lsr |= LsrOverrunError;
                // §8.7: the error bits are cleared by reading LSR; that also resets the line-status interrupt.
                _overrunError = false;
                return lsr;
            }
            case ModemStatus:
            {
                byte msr = (byte)(_modemLines | _modemStatusDeltas);
                // §8.8: the delta bits are cleared by reading MSR; that also resets the modem-status interrupt.
                _modemStatusDeltas = 0;
                return msr;
            }
            default:
                return _scratch;
        }
    }

    private byte ReadReceiveBufferLocked()
    {
        if (_receiveFifo.Count == 0)
            return 0;
        byte b = _receiveFifo.Dequeue();
        RefillFromBacklogLocked();
        return b;
    }

    /// <summary>Applies a register write; true when <paramref name="value"/> must go out on the wire.</summary>
    private bool WriteRegister(ulong offset, byte value)
    {
        switch (offset)
        {
            case Data:
                if (DivisorLatchAccess)
                {
                    _divisorLow = value;
                    return false;
                }
                // The byte leaves at once, so the THR is empty again: re-arm the THR-empty interrupt.
                _thrEmptyArmed = true;
                if (!Loopback)
                    return true;
                // §8.6 loopback: the transmitter output is wired to the receiver input.
                if (_receiveFifo.Count < ReceiveCapacity)
                    _receiveFifo.Enqueue(value);
                else
                    LoseReceivedByteLocked();
                return false;
            case InterruptEnable:
                if (DivisorLatchAccess)
                {
                    _divisorHigh = value;
                    return false;
                }
                byte enable = (byte)(value & IerWritableMask);
                // Enabling ETBEI while the THR is empty raises the THR-empty interrupt. Linux's
                // UART_BUG_THRE probe toggles ETBEI and expects the interrupt to come back.
                if ((enable & IerTransmitterEmpty) != 0 && (_interruptEnable & IerTransmitterEmpty) == 0)
                    _thrEmptyArmed = true;
                _interruptEnable = enable;
                return false;
            case InterruptId:
                WriteFifoControlLocked(value);
                return false;
            case LineControl:
                _lineControl = value;
                return false;
            case ModemControl:
                WriteModemControlLocked(value);
                return false;
            case LineStatus:
            case ModemStatus:
                // Writable only for factory test on the real part; a guest gains nothing by it.
                return false;
            default:
                _scratch = value;
                return false;
        }
    }

    private void WriteFifoControlLocked(byte value)
    {
        bool enable = (value & FcrEnable) != 0;
        // §8.5: switching between FIFO and 16450 mode clears both FIFOs.
        if (enable != _fifoEnabled)
        {
            _receiveFifo.Clear();
            _fifoEnabled = enable;
        }
        // §8.5: the other FCR bits are only programmed while FCR0 is set. The transmit FIFO is
        // always empty here, so FcrClearTransmit has nothing to do.
        if (enable)
        {
            if ((value & FcrClearReceive) != 0)
                _receiveFifo.Clear();
            _triggerLevel = TriggerLevels[value >> FcrTriggerShift];
        }
        RefillFromBacklogLocked();
    }

    private void WriteModemControlLocked(byte value)
    {
        _modemControl = (byte)(value & McrWritableMask);
        byte lines = ConnectedModemLines;
        if (Loopback)
        {
            // §8.6 loopback wiring: RTS→CTS, DTR→DSR, OUT1→RI, OUT2→DCD.
            lines = 0;
            if ((_modemControl & McrRts) != 0) lines |= MsrCts;
            if ((_modemControl & McrDtr) != 0) lines |= MsrDsr;
            if ((_modemControl & McrOut1) != 0) lines |= MsrRi;
            if ((_modemControl & McrOut2) != 0) lines |= MsrDcd;
        }
        byte changed = (byte)(lines ^ _modemLines);
        if ((changed & MsrCts) != 0) _modemStatusDeltas |= MsrDeltaCts;
        if ((changed & MsrDsr) != 0) _modemStatusDeltas |= MsrDeltaDsr;
        if ((changed & MsrDcd) != 0) _modemStatusDeltas |= MsrDeltaDcd;
        // TERI flags only the trailing (high-to-low) edge of RI.
        if ((changed & MsrRi) != 0 && (lines & MsrRi) == 0) _modemStatusDeltas |= MsrTrailingEdgeRi;
        _modemLines = lines;
        // Leaving loopback reconnects the receiver to the wire.
        RefillFromBacklogLocked();
    }

    /// <summary>The highest-priority enabled pending source (data sheet Table IV).</summary>
    private byte CurrentInterruptId()
    {
        if ((_interruptEnable & IerLineStatus) != 0 && _overrunError)
            return IirLineStatus;
        if ((_interruptEnable & IerReceivedData) != 0 && _receiveFifo.Count > 0)
        {
            // Below the trigger level a real FIFO reports a character timeout after four character
            // times; with no wire timing the timeout is reported at once.
            return _fifoEnabled && _receiveFifo.Count < _triggerLevel ? IirCharacterTimeout : IirReceivedData;
        }
        if ((_interruptEnable & IerTransmitterEmpty) != 0 && _thrEmptyArmed)
            return IirTransmitterEmpty;
        if ((_interruptEnable & IerModemStatus) != 0 && _modemStatusDeltas != 0)
            return IirModemStatus;
        return IirNoInterrupt;
    }

    private void UpdateInterruptLocked()
    {
        bool level = CurrentInterruptId() != IirNoInterrupt;
        if (level == _interruptLevel)
            return;
        _interruptLevel = level;
        _interrupt.SetLevel(level);
    }

    public Serial16550State GetState()
    {
        lock (_lock)
        {
            return new Serial16550State(
                _divisorLow, _divisorHigh, _interruptEnable, _lineControl, _modemControl, _scratch,
                _fifoEnabled, _triggerLevel, _overrunError, _modemStatusDeltas, _thrEmptyArmed,
                [.. _receiveFifo], [.. _hostBacklog]);
        }
    }

    /// <summary>Rebuilds a UART from a snapshot and drives the interrupt line to match it.</summary>
    public static Serial16550 FromState(Serial16550State state, ISerialOutput output, IInterruptLine interrupt)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(state.ReceiveFifo);
        ArgumentNullException.ThrowIfNull(state.HostBacklog);
        int capacity = state.FifoEnabled ? ReceiveFifoCapacity : ReceiverBufferCapacity;
        if (state.ReceiveFifo.Length > capacity)
            throw new ArgumentException($"receive FIFO holds {state.ReceiveFifo.Length} bytes, more than {capacity}", nameof(state));
        if (state.HostBacklog.Length > HostBacklogCapacity)
            throw new ArgumentException($"host backlog holds {state.HostBacklog.Length} bytes, more than {HostBacklogCapacity}", nameof(state));
        if (!TriggerLevels.Contains(state.ReceiveTriggerLevel))
            throw new ArgumentException($"receive trigger level {state.ReceiveTriggerLevel} is not one of 1, 4, 8, 14", nameof(state));

        var uart = new Serial16550(output, interrupt);
        lock (uart._lock)
        {
            uart._divisorLow = state.DivisorLow;
            uart._divisorHigh = state.DivisorHigh;
            uart._interruptEnable = (byte)(state.InterruptEnable & IerWritableMask);
            uart._lineControl = state.LineControl;
            uart._scratch = state.Scratch;
            uart._fifoEnabled = state.FifoEnabled;
            uart._triggerLevel = state.ReceiveTriggerLevel;
            uart._thrEmptyArmed = state.TransmitterEmptyInterruptArmed;
            foreach (byte b in state.ReceiveFifo)
                uart._receiveFifo.Enqueue(b);
            foreach (byte b in state.HostBacklog)
                uart._hostBacklog.Enqueue(b);
            // Recompute the modem lines from MCR, then put back the saved deltas and error.
            uart.WriteModemControlLocked(state.ModemControl);
            uart._modemStatusDeltas = (byte)(state.ModemStatusDeltas & MsrDeltaMask);
            uart._overrunError = state.OverrunError;
            uart.UpdateInterruptLocked();
        }
        return uart;
    }
}
