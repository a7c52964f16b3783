using Ember.Devices.Bus;

namespace Ember.Devices.Timers;

/// <summary>
/// System control port B (I/O port 0x61, here offset 0), as in the PIIX4 "NMI Status and Control Register":
/// bit 0 gates PIT counter 2, bit 1 enables the speaker data, bits 2–3 are the SERR#/IOCHK# NMI enables
/// (stored only), bit 4 toggles with every DRAM refresh request, bit 5 reads counter 2's OUT, bits 6–7
/// (NMI sources) read 0. Linux calibrates the TSC by gating counter 2 here and polling bit 5.
/// <para>
/// Threat model: the guest writes any byte; only bits 0–3 are kept and the only effect is counter 2's gate.
/// Other offsets and widths are dropped and counted.
/// </para>
/// </summary>
public sealed class PcSpeakerGate : IBusDevice
{
    public const ulong Size = 1;

    private const byte Timer2GateBit = 0x01;
    private const byte SpeakerDataEnableBit = 0x02;
    private const byte WritableBits = 0x0F;
    private const byte RefreshToggleBit = 0x10;
    private const byte Timer2OutputBit = 0x20;

    // The refresh request comes from PIT counter 1 programmed to about 15 µs (18 input clocks, 15.085 µs);
    // bit 4 toggles on each, so derive it from the same clock instead of emulating counter 1.
    private const long RefreshPeriodNanoseconds = 15_085;

    private const int SpeakerChannel = 2;

    private readonly Lock _lock = new();
    private readonly Pit8254 _pit;
    private byte _control;
    private long _droppedAccesses;

    public PcSpeakerGate(Pit8254 pit)
    {
        ArgumentNullException.ThrowIfNull(pit);
        _pit = pit;
        _control = pit.GetGate(SpeakerChannel) ? Timer2GateBit : (byte)0;
    }

    /// <summary>Bit 1: the speaker is driven by counter 2's OUT.</summary>
    public bool SpeakerEnabled
    {
        get { lock (_lock) return (_control & SpeakerDataEnableBit) != 0; }
    }

    public long DroppedAccesses => Interlocked.Read(ref _droppedAccesses);

    public void Read(ulong offset, Span<byte> data)
    {
        if (offset != 0 || data.Length != 1)
        {
            Interlocked.Increment(ref _droppedAccesses);
            return;
        }
        byte control;
        lock (_lock)
            control = _control;
        byte value = control;
        if ((_pit.NowNanoseconds / RefreshPeriodNanoseconds & 1) != 0)
            value |= RefreshToggleBit;
        if (_pit.GetOutput(SpeakerChannel))
            value |= Timer2OutputBit;
        data[0] = value;
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (offset != 0 || data.Length != 1)
        {
            Interlocked.Increment(ref _droppedAccesses);
            return;
        }
        lock (_lock)
        {
            _control = (byte)(data[0] & WritableBits);
            // Under this lock so two writers cannot leave the gate disagreeing with bit 0.
            _pit.SetGate(SpeakerChannel, (_control & Timer2GateBit) != 0);
        }
    }
}
