namespace Ember.Devices.Interrupts;

/// <summary>
/// One Intel 8259A programmable interrupt controller, in 8086 mode: the register file, the ICW/OCW
/// command decoding and priority resolution. It has no lock and no port decoding: <see cref="DualPic"/>
/// owns two of them, serializes access and wires the cascade. Not thread-safe on its own.
/// <para>
/// Threat model: every byte written to the two ports is guest-chosen; all 256 values of every command
/// word decode to some defined behaviour and nothing is buffered, so no input can fault or grow state.
/// </para>
/// </summary>
public sealed class Pic8259
{
    /// <summary>Number of IR inputs.</summary>
    public const int InputCount = 8;

    /// <summary>The IR level returned when an acknowledge finds no request (8259A: "default IR7").</summary>
    public const int SpuriousLine = 7;

    // ICW1 (command port, D4 = 1).
    private const byte Icw1NeedsIcw4 = 0x01;
    private const byte Icw1Single = 0x02;
    private const byte Icw1LevelTriggered = 0x08; // LTIM
    private const byte Icw1Marker = 0x10;

    // ICW2: T7–T3 give the vector base; in 8086 mode the low three bits are the IR level.
    private const byte Icw2VectorBaseMask = 0xF8;

    // ICW4.
    private const byte Icw4AutoEoi = 0x02;

    // OCW3 (command port, D4 = 0, D3 = 1).
    private const byte Ocw3Marker = 0x08;
    private const byte Ocw3ReadInService = 0x01; // RIS
    private const byte Ocw3ReadRegister = 0x02; // RR
    private const byte Ocw3Poll = 0x04; // P
    private const byte Ocw3SpecialMask = 0x20; // SMM
    private const byte Ocw3EnableSpecialMask = 0x40; // ESMM

    // OCW2 (command port, D4 = 0, D3 = 0): R, SL, EOI in D7–D5, level in D2–D0.
    private const int Ocw2CommandShift = 5;
    private const byte Ocw2LevelMask = 0x07;
    private const int Ocw2RotateInAutoEoiClear = 0b000;
    private const int Ocw2NonSpecificEoi = 0b001;
    private const int Ocw2NoOperation = 0b010;
    private const int Ocw2SpecificEoi = 0b011;
    private const int Ocw2RotateInAutoEoiSet = 0b100;
    private const int Ocw2RotateOnNonSpecificEoi = 0b101;
    private const int Ocw2SetPriority = 0b110;
    private const int Ocw2RotateOnSpecificEoi = 0b111;

    // Poll word: I in D7, W2–W0 the highest requesting level.
    private const byte PollInterruptFlag = 0x80;

    // After ICW1, IR7 has the lowest priority, i.e. IR0 the highest.
    private const byte InitialLowestPriority = 7;

    private byte _edgeRequests;
    private byte _inputLevels;
    private byte _inService;
    private byte _mask;
    private byte _vectorBase;
    private byte _icw1;
    private byte _icw3;
    private byte _icw4;
    private PicInitStep _initStep;
    private bool _initialized;
    private bool _readInService;
    private bool _pollPending;
    private bool _specialMask;
    private bool _rotateOnAutoEoi;
    private byte _lowestPriority = InitialLowestPriority;
    private byte _levelTriggeredInputs;

    /// <summary>True once an ICW1…ICW2(…ICW4) sequence has completed; until then INT stays low.</summary>
    public bool IsInitialized => _initialized;

    /// <summary>The vector of IR0 (ICW2 bits 7:3).</summary>
    public byte VectorBase => _vectorBase;

    /// <summary>The interrupt request register: latched edges of edge inputs, current levels of level inputs.</summary>
    public byte InterruptRequests =>
        (byte)((_edgeRequests & ~LevelMask) | (_inputLevels & LevelMask));

    public byte InService => _inService;

    /// <summary>The interrupt mask register (OCW1).</summary>
    public byte Mask => _mask;

    /// <summary>ICW4 AEOI: the in-service bit is not kept after the acknowledge.</summary>
    public bool AutoEoi => (_icw4 & Icw4AutoEoi) != 0;

    public bool SpecialMaskMode => _specialMask;

    public byte LowestPriority => _lowestPriority;

    /// <summary>
    /// Inputs that are level-triggered, from the ELCR (ICW1's LTIM makes all of them so). A level input's
    /// request follows the wire; an edge input's request is latched on the rising edge.
    /// </summary>
    public byte LevelTriggeredInputs
    {
        get => _levelTriggeredInputs;
        set
        {
            _levelTriggeredInputs = value;
            // A stale latched edge must not become a request once the input is level-sensitive.
            _edgeRequests &= (byte)~LevelMask;
        }
    }

    /// <summary>The INT output: some request would win an acknowledge now.</summary>
    public bool Output => HighestRequest() >= 0;

    private byte LevelMask => (_icw1 & Icw1LevelTriggered) != 0 ? (byte)0xFF : _levelTriggeredInputs;

    /// <summary>True if ICW3 says a slave hangs on <paramref name="line"/> (master in cascade mode).</summary>
    public bool IsCascadeLine(int line) =>
        (_icw1 & Icw1Single) == 0 && (uint)line < InputCount && (_icw3 & (1 << line)) != 0;

    /// <summary>
    /// Drives IR input <paramref name="line"/>. A rising edge on an edge input is latched until acknowledged,
    /// even if the wire drops first: emulated devices signal edges with an instantaneous pulse, where the
    /// datasheet asks the wire to stay high until INTA.
    /// </summary>
    public void SetInput(int line, bool high)
    {
        if ((uint)line >= InputCount)
            return;
        byte bit = (byte)(1 << line);
        if (high)
        {
            if ((_inputLevels & bit) == 0 && (LevelMask & bit) == 0)
                _edgeRequests |= bit;
            _inputLevels |= bit;
        }
        else
        {
            _inputLevels &= (byte)~bit;
        }
    }

    /// <summary>
    /// The INTA sequence: returns the IR level whose vector is VectorBase + level, sets its in-service bit
    /// (unless AEOI) and consumes an edge request. With no request left it returns IR7 and sets nothing
    /// (8259A: "If the IR input goes low before [INTA] a DEFAULT IR7 will occur").
    /// </summary>
    public int Acknowledge(out bool spurious)
    {
        int line = HighestRequest();
        if (line < 0)
        {
            spurious = true;
            return SpuriousLine;
        }
        spurious = false;
        byte bit = (byte)(1 << line);
        _edgeRequests &= (byte)~bit;
        if (AutoEoi)
        {
            // The ISR bit is reset at the end of the INTA sequence; rotation in AEOI mode moves the
            // serviced level to lowest priority at that moment.
            if (_rotateOnAutoEoi)
                _lowestPriority = (byte)line;
        }
        else
        {
            _inService |= bit;
        }
        return line;
    }

    /// <summary>A guest write to the command port (A0 = 0): ICW1, OCW2 or OCW3.</summary>
    public void WriteCommand(byte value)
    {
        if ((value & Icw1Marker) != 0)
            Initialize(value);
        else if ((value & Ocw3Marker) != 0)
            WriteOcw3(value);
        else
            WriteOcw2(value);
    }

    /// <summary>A guest write to the data port (A0 = 1): ICW2–ICW4 during initialization, otherwise OCW1.</summary>
    public void WriteData(byte value)
    {
        switch (_initStep)
        {
            case PicInitStep.ExpectIcw2:
                _vectorBase = (byte)(value & Icw2VectorBaseMask);
                if ((_icw1 & Icw1Single) == 0)
                    _initStep = PicInitStep.ExpectIcw3;
                else
                    FinishAfterIcw3();
                break;
            case PicInitStep.ExpectIcw3:
                _icw3 = value;
                FinishAfterIcw3();
                break;
            case PicInitStep.ExpectIcw4:
                // µPM (8086 mode) is assumed: vectors are always VectorBase + level. BUF, M/S and SFNM have
                // no effect on an emulated pair.
                _icw4 = value;
                CompleteInitialization();
                break;
            default:
                _mask = value;
                break;
        }
    }

    /// <summary>A guest read of the command port: the poll word after a poll command, else IRR or ISR (OCW3).</summary>
    public byte ReadCommand()
    {
        if (_pollPending)
            return Poll();
        return _readInService ? _inService : InterruptRequests;
    }

    /// <summary>A guest read of the data port: the poll word after a poll command, else the mask (OCW1).</summary>
    public byte ReadData() => _pollPending ? Poll() : _mask;

    public PicChipState GetState() => new(
        _edgeRequests, _inputLevels, _inService, _mask, _vectorBase, _icw1, _icw3, _icw4, _initStep, _initialized,
        _readInService, _pollPending, _specialMask, _rotateOnAutoEoi, _lowestPriority, _levelTriggeredInputs);

    public static Pic8259 FromState(PicChipState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return new Pic8259
        {
            _edgeRequests = state.EdgeRequests,
            _inputLevels = state.InputLevels,
            _inService = state.InService,
            _mask = state.Mask,
            _vectorBase = (byte)(state.VectorBase & Icw2VectorBaseMask),
            _icw1 = state.Icw1,
            _icw3 = state.Icw3,
            _icw4 = state.Icw4,
            _initStep = Enum.IsDefined(state.InitStep) ? state.InitStep : PicInitStep.Ready,
            _initialized = state.Initialized,
            _readInService = state.ReadInService,
            _pollPending = state.PollPending,
            _specialMask = state.SpecialMask,
            _rotateOnAutoEoi = state.RotateOnAutoEoi,
            _lowestPriority = (byte)(state.LowestPriority & Ocw2LevelMask),
            _levelTriggeredInputs = state.LevelTriggeredInputs,
        };
    }

    /// <summary>
    /// The IR level an acknowledge would pick, or -1. Levels are scanned from highest priority (the one after
    /// <see cref="LowestPriority"/>) down. In fully nested mode an in-service level blocks itself and every
    /// lower one. In special mask mode (8259A, "Special Mask Mode") only the mask inhibits: any unmasked
    /// level that is not itself in service may be acknowledged.
    /// </summary>
    private int HighestRequest()
    {
        if (!_initialized || _initStep != PicInitStep.Ready)
            return -1;
        int pending = InterruptRequests & ~_mask;
        if (pending == 0)
            return -1;
        for (int i = 1; i <= InputCount; i++)
        {
            int line = (_lowestPriority + i) & Ocw2LevelMask;
            int bit = 1 << line;
            if ((_inService & bit) != 0)
            {
                if (_specialMask)
                    continue;
                return -1;
            }
            if ((pending & bit) != 0)
                return line;
        }
        return -1;
    }

    /// <summary>The in-service level with the highest priority, or -1.</summary>
    private int HighestInService()
    {
        for (int i = 1; i <= InputCount; i++)
        {
            int line = (_lowestPriority + i) & Ocw2LevelMask;
            if ((_inService & (1 << line)) != 0)
                return line;
        }
        return -1;
    }

    private byte Poll()
    {
        // 8259A "Poll Command": the read acts as an interrupt acknowledge and returns I and W2–W0.
        _pollPending = false;
        int line = Acknowledge(out bool spurious);
        return spurious ? (byte)0 : (byte)(PollInterruptFlag | line);
    }

    private void Initialize(byte icw1)
    {
        // 8259A "Initialization Command Words": ICW1 resets the edge sense circuit, clears the mask, gives
        // IR7 the lowest priority, clears special mask mode and selects IRR for status reads. Without IC4,
        // all ICW4 functions are zero.
        _icw1 = icw1;
        _initStep = PicInitStep.ExpectIcw2;
        _edgeRequests = 0;
        _inService = 0;
        _mask = 0;
        _lowestPriority = InitialLowestPriority;
        _specialMask = false;
        _readInService = false;
        _pollPending = false;
        _rotateOnAutoEoi = false;
        _icw3 = 0;
        _icw4 = 0;
    }

    private void FinishAfterIcw3()
    {
        if ((_icw1 & Icw1NeedsIcw4) != 0)
            _initStep = PicInitStep.ExpectIcw4;
        else
            CompleteInitialization();
    }

    private void CompleteInitialization()
    {
        _initStep = PicInitStep.Ready;
        _initialized = true;
    }

    private void WriteOcw2(byte value)
    {
        int level = value & Ocw2LevelMask;
        switch (value >> Ocw2CommandShift)
        {
            case Ocw2NonSpecificEoi:
                ClearHighestInService(rotate: false);
                break;
            case Ocw2RotateOnNonSpecificEoi:
                ClearHighestInService(rotate: true);
                break;
            case Ocw2SpecificEoi:
                _inService &= (byte)~(1 << level);
                break;
            case Ocw2RotateOnSpecificEoi:
                _inService &= (byte)~(1 << level);
                _lowestPriority = (byte)level;
                break;
            case Ocw2SetPriority:
                _lowestPriority = (byte)level;
                break;
            case Ocw2RotateInAutoEoiSet:
                _rotateOnAutoEoi = true;
                break;
            case Ocw2RotateInAutoEoiClear:
                _rotateOnAutoEoi = false;
                break;
            case Ocw2NoOperation:
            default:
                break;
        }
    }

    private void ClearHighestInService(bool rotate)
    {
        int line = HighestInService();
        if (line < 0)
            return;
        _inService &= (byte)~(1 << line);
        if (rotate)
            _lowestPriority = (byte)line;
    }

    private void WriteOcw3(byte value)
    {
        // A poll command overrides a read-register command given in the same OCW3.
        if ((value & Ocw3Poll) != 0)
            _pollPending = true;
        if ((value & Ocw3ReadRegister) != 0)
            _readInService = (value & Ocw3ReadInService) != 0;
        if ((value & Ocw3EnableSpecialMask) != 0)
            _specialMask = (value & Ocw3SpecialMask) != 0;
    }
}
