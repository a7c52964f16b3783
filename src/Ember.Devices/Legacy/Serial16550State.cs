namespace Ember.Devices.Legacy;

/// <summary>Snapshot of a <see cref="Serial16550"/>: every register plus the receive FIFO and host backlog.</summary>
public sealed record Serial16550State(
    byte DivisorLow,
    byte DivisorHigh,
    byte InterruptEnable,
    byte LineControl,
    byte ModemControl,
    byte Scratch,
    bool FifoEnabled,
    byte ReceiveTriggerLevel,
    bool OverrunError,
    byte ModemStatusDeltas,
    bool TransmitterEmptyInterruptArmed,
    byte[] ReceiveFifo,
    byte[] HostBacklog);
