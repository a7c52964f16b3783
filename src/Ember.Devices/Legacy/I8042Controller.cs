using Ember.Devices.Bus;

using Ember.Devices.Interrupts;

namespace Ember.Devices.Legacy;

/// <summary>
/// The 8042 keyboard controller as far as a keyboard-less microVM needs it: the status
/// register, the controller command set Linux probes, and the CPU reset line (command 0xFE,
/// which Linux's reboot=k path uses), surfaced as <see cref="ResetRequested"/>.
/// <para>
/// Registration: the PC's data port (0x60) and status/command port (0x64) are not contiguous,
/// so the device covers five bytes at the data port: offset <see cref="DataPortOffset"/> and
/// offset <see cref="StatusCommandPortOffset"/>; offsets 1–3 read as zero and drop writes.
/// Note that a 5-byte registration at 0x60 also claims ports 0x61–0x63 (0x61 is the PC's
/// "port B" with the PIT channel 2 gate). If something else needs 0x61, register the two
/// one-byte views <see cref="DataPort"/> and <see cref="StatusCommandPort"/> instead.
/// </para>
/// <para>
/// No keyboard or mouse is attached: controller responses are read by polling the status register
/// (as Linux's i8042_command does), bytes written to the keyboard or the mouse (0xD4) are dropped
/// and counted. The host can press keys, though: <see cref="PressCtrlAltDel"/> queues the key
/// sequence a keyboard would send and the controller hands it to the guest byte by byte with IRQ 1,
/// in scan code set 1 while the command byte asks for translation (bit 6, as a BIOS and Linux leave
/// it) and in set 2 otherwise.
/// </para>
/// Threat model: one byte of pending-command state, one output byte and a host-filled key queue of
/// at most <see cref="MaximumQueuedKeyBytes"/> bytes, so nothing grows with guest input;
/// unknown commands, odd widths and other offsets are dropped and counted; the only host
/// effect a guest can cause is a reset request, which a guest can always cause anyway.
/// </summary>
public sealed class I8042Controller : IBusDevice
{
    public const ulong DataPortOffset = 0;
    public const ulong StatusCommandPortOffset = 4;
    /// <summary>Register the device over this many bytes at the data port.</summary>
    public const ulong Length = 5;

    // Status register bits (IBM PC AT Technical Reference, "Keyboard Controller", status register).
    private const byte StatusOutputBufferFull = 0x01;
    // Bit 1 (input buffer full) stays 0: commands complete synchronously, so kb_wait() never spins.
    private const byte StatusSystemFlag = 0x04;
    private const byte StatusLastWriteWasCommand = 0x08;
    private const byte StatusKeyboardNotInhibited = 0x10;
    private const byte StatusAuxOutputBufferFull = 0x20;

    // Controller command byte ("configuration byte") bits.
    private const byte CommandByteKeyboardInterrupt = 0x01;
    private const byte CommandByteSystemFlag = 0x04;
    private const byte CommandByteTranslate = 0x40;
    private const byte CommandByteKeyboardDisabled = 0x10;
    private const byte CommandByteAuxDisabled = 0x20;
    /// <summary>Keyboard interrupt enabled, system flag (POST passed), scan-code translation, as a BIOS leaves it.</summary>
    private const byte InitialCommandByte = 0x45;

    // Output port bits: bit 0 is the CPU reset line (active low), bit 1 the A20 gate.
    private const byte OutputPortResetInactive = 0x01;
    private const byte OutputPortA20Enabled = 0x02;
    private const byte InitialOutputPort = OutputPortResetInactive | OutputPortA20Enabled;

    // Controller commands written to the command port.
    private const byte ReadCommandByte = 0x20;
    private const byte WriteCommandByte = 0x60;
    private const byte DisableAux = 0xA7;
    private const byte EnableAux = 0xA8;
    private const byte TestAuxInterface = 0xA9;
    private const byte SelfTest = 0xAA;
    private const byte TestKeyboardInterface = 0xAB;
    private const byte DisableKeyboard = 0xAD;
    private const byte EnableKeyboard = 0xAE;
    private const byte ReadOutputPort = 0xD0;
    private const byte WriteOutputPort = 0xD1;
    private const byte WriteKeyboardOutputBuffer = 0xD2;
    private const byte WriteAuxOutputBuffer = 0xD3;
    private const byte WriteToAux = 0xD4;
    /// <summary>0xF0–0xFF pulse output-port bits 0–3 low where the command's low nibble has a 0.</summary>
    private const byte PulseOutputPortFirst = 0xF0;

    // Responses.
    private const byte SelfTestPassed = 0x55;
    private const byte InterfaceTestPassed = 0x00;

    /// <summary>No controller command is waiting for a data byte.</summary>
    private const byte NoPendingCommand = 0;

    /// <summary>Keys the host may have queued and the guest not yet read; further presses are refused.</summary>
    public const int MaximumQueuedKeyBytes = 32;

    // Ctrl, Alt and Delete pressed, then released (IBM PC scan code sets 1 and 2).
    private static readonly byte[] CtrlAltDelSet1 = [0x1D, 0x38, 0xE0, 0x53, 0xE0, 0xD3, 0xB8, 0x9D];
    private static readonly byte[] CtrlAltDelSet2 = [0x14, 0x11, 0xE0, 0x71, 0xE0, 0xF0, 0x71, 0xF0, 0x11, 0xF0, 0x14];

    private readonly Queue<byte> _keys = new();
    private readonly IInterruptLine? _keyboardInterrupt;

    private readonly Lock _lock = new();
    private byte _commandByte = InitialCommandByte;
    private byte _outputPort = InitialOutputPort;
    private byte _outputBuffer;
    private bool _outputBufferFull;
    private bool _outputFromAux;
    private bool _lastWriteWasCommand;
    private byte _pendingCommand = NoPendingCommand;
    private long _unhandledAccesses;
    private long _droppedDeviceBytes;

    public I8042Controller(IInterruptLine? keyboardInterrupt = null)
    {
        _keyboardInterrupt = keyboardInterrupt;
        DataPort = new BusDeviceWindow(this, DataPortOffset, 1);
        StatusCommandPort = new BusDeviceWindow(this, StatusCommandPortOffset, 1);
    }

    /// <summary>Raised (on the vCPU thread, no lock held) when the guest pulses or drives the CPU reset line low.</summary>
    public event Action? ResetRequested;

    /// <summary>A one-byte view of the data port (0x60) for split registration.</summary>
    public IBusDevice DataPort { get; }

    /// <summary>A one-byte view of the status/command port (0x64) for split registration.</summary>
    public IBusDevice StatusCommandPort { get; }

    /// <summary>Unknown commands, odd widths and accesses at offsets 1–3.</summary>
    public long UnhandledAccesses => Interlocked.Read(ref _unhandledAccesses);

    /// <summary>Bytes the guest sent to the (absent) keyboard or mouse.</summary>
    public long DroppedDeviceBytes => Interlocked.Read(ref _droppedDeviceBytes);

    public void Read(ulong offset, Span<byte> data)
    {
        if (data.Length != 1 || (offset != DataPortOffset && offset != StatusCommandPortOffset))
        {
            Interlocked.Increment(ref _unhandledAccesses);
            return;
        }
        bool raise;
        lock (_lock)
        {
            if (offset == StatusCommandPortOffset)
            {
                data[0] = StatusLocked();
                raise = FeedKeyLocked();
            }
            else
            {
                // Reading the data port empties the output buffer; an empty buffer repeats the last byte, as the chip does.
                data[0] = _outputBuffer;
                _outputBufferFull = false;
                _outputFromAux = false;
                raise = FeedKeyLocked();
            }
        }
        // IRQ 1 is edge-triggered on the ISA bus: one edge per byte handed over.
        if (raise)
            _keyboardInterrupt?.Pulse();
    }

    /// <summary>
    /// The host presses Ctrl+Alt+Del (and releases the keys), as Firecracker's SendCtrlAltDel does: the guest's
    /// keyboard driver sees the three-finger salute (Linux reboots). False when the queue of unread keys is full.
    /// </summary>
    public bool PressCtrlAltDel()
    {
        bool raise;
        lock (_lock)
        {
            byte[] sequence = (_commandByte & CommandByteTranslate) != 0 ? CtrlAltDelSet1 : CtrlAltDelSet2;
            if (_keys.Count + sequence.Length > MaximumQueuedKeyBytes)
                return false;
            foreach (byte code in sequence)
                _keys.Enqueue(code);
            raise = FeedKeyLocked();
        }
        if (raise)
            _keyboardInterrupt?.Pulse();
        return true;
    }

    /// <summary>Moves the next queued key byte into an empty output buffer; true when that should raise IRQ 1.</summary>
    private bool FeedKeyLocked()
    {
        if (_outputBufferFull || _keys.Count == 0 || (_commandByte & CommandByteKeyboardDisabled) != 0)
            return false;
        PutOutputLocked(_keys.Dequeue(), fromAux: false);
        return (_commandByte & CommandByteKeyboardInterrupt) != 0;
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (data.Length != 1 || (offset != DataPortOffset && offset != StatusCommandPortOffset))
        {
            Interlocked.Increment(ref _unhandledAccesses);
            return;
        }
        bool reset, raise;
        lock (_lock)
        {
            reset = offset == StatusCommandPortOffset
                ? WriteCommandLocked(data[0])
                : WriteDataLocked(data[0]);
            // Enabling the keyboard (0xAE, or a new command byte) lets queued keys through.
            raise = FeedKeyLocked();
        }
        if (raise)
            _keyboardInterrupt?.Pulse();
        if (reset)
            ResetRequested?.Invoke();
    }

    private byte StatusLocked()
    {
        byte status = StatusKeyboardNotInhibited;
        if (_outputBufferFull) status |= StatusOutputBufferFull;
        if (_outputBufferFull && _outputFromAux) status |= StatusAuxOutputBufferFull;
        if ((_commandByte & CommandByteSystemFlag) != 0) status |= StatusSystemFlag;
        if (_lastWriteWasCommand) status |= StatusLastWriteWasCommand;
        return status;
    }

    private void PutOutputLocked(byte value, bool fromAux)
    {
        _outputBuffer = value;
        _outputBufferFull = true;
        _outputFromAux = fromAux;
    }

    /// <summary>Runs a controller command; true when it resets the CPU.</summary>
    private bool WriteCommandLocked(byte command)
    {
        _lastWriteWasCommand = true;
        // A new command abandons one still waiting for its data byte, as on the real controller.
        _pendingCommand = NoPendingCommand;
        switch (command)
        {
            case ReadCommandByte:
                PutOutputLocked(_commandByte, fromAux: false);
                return false;
            case WriteCommandByte:
            case WriteOutputPort:
            case WriteKeyboardOutputBuffer:
            case WriteAuxOutputBuffer:
            case WriteToAux:
                _pendingCommand = command;
                return false;
            case DisableAux:
                _commandByte |= CommandByteAuxDisabled;
                return false;
            case EnableAux:
                _commandByte = (byte)(_commandByte & ~CommandByteAuxDisabled);
                return false;
            case TestAuxInterface:
            case TestKeyboardInterface:
                PutOutputLocked(InterfaceTestPassed, fromAux: false);
                return false;
            case SelfTest:
                PutOutputLocked(SelfTestPassed, fromAux: false);
                return false;
            case DisableKeyboard:
                _commandByte |= CommandByteKeyboardDisabled;
                return false;
            case EnableKeyboard:
                _commandByte = (byte)(_commandByte & ~CommandByteKeyboardDisabled);
                return false;
            case ReadOutputPort:
                PutOutputLocked(_outputPort, fromAux: false);
                return false;
            case >= PulseOutputPortFirst:
                // 0xFE pulses bit 0 (reset); 0xFF pulses nothing and is a harmless no-op.
                return (command & OutputPortResetInactive) == 0;
            default:
                Interlocked.Increment(ref _unhandledAccesses);
                return false;
        }
    }

    /// <summary>Consumes a data-port byte; true when it resets the CPU.</summary>
    private bool WriteDataLocked(byte value)
    {
        _lastWriteWasCommand = false;
        byte pending = _pendingCommand;
        _pendingCommand = NoPendingCommand;
        switch (pending)
        {
            case WriteCommandByte:
                _commandByte = value;
                return false;
            case WriteOutputPort:
                _outputPort = value;
                // Writing 0 to the reset bit holds the CPU in reset.
                return (value & OutputPortResetInactive) == 0;
            case WriteKeyboardOutputBuffer:
                PutOutputLocked(value, fromAux: false);
                return false;
            case WriteAuxOutputBuffer:
                PutOutputLocked(value, fromAux: true);
                return false;
            default:
                // WriteToAux, or a plain data byte for the keyboard: neither device is attached.
                Interlocked.Increment(ref _droppedDeviceBytes);
                return false;
        }
    }

    public I8042ControllerState GetState()
    {
        lock (_lock)
        {
            return new I8042ControllerState(_commandByte, _outputPort, _outputBuffer, _outputBufferFull,
                _outputFromAux, _lastWriteWasCommand, _pendingCommand);
        }
    }

    public static I8042Controller FromState(I8042ControllerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var controller = new I8042Controller();
        controller._commandByte = state.CommandByte;
        controller._outputPort = state.OutputPort;
        controller._outputBuffer = state.OutputBuffer;
        controller._outputBufferFull = state.OutputBufferFull;
        controller._outputFromAux = state.OutputBufferFromAux;
        controller._lastWriteWasCommand = state.LastWriteWasCommand;
        controller._pendingCommand = state.PendingCommand switch
        {
            WriteCommandByte or WriteOutputPort or WriteKeyboardOutputBuffer or WriteAuxOutputBuffer or WriteToAux
                => state.PendingCommand,
            _ => NoPendingCommand,
        };
        return controller;
    }
}
