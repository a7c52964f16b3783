namespace Ember.Devices.Legacy;

/// <summary>
/// Register offsets and bit assignments of the 16550A UART (National Semiconductor PC16550D
/// data sheet, Table II "Summary of Registers" and §8 "Registers").
/// </summary>
internal static class Uart16550Registers
{
    // Offsets (data sheet Table II). Offsets 0 and 1 alias the divisor latch while LCR.DLAB is set.
    public const ulong Data = 0;            // RBR (read) / THR (write) / DLL (DLAB = 1)
    public const ulong InterruptEnable = 1; // IER / DLM (DLAB = 1)
    public const ulong InterruptId = 2;     // IIR (read) / FCR (write)
    public const ulong LineControl = 3;     // LCR
    public const ulong ModemControl = 4;    // MCR
    public const ulong LineStatus = 5;      // LSR
    public const ulong ModemStatus = 6;     // MSR
    public const ulong Scratch = 7;         // SCR

    // IER (§8.4). The upper nibble is always zero on a 16550A; Linux's autoconfig relies on
    // that to tell it apart from XScale/16750 parts.
    public const byte IerReceivedData = 0x01;      // ERBFI
    public const byte IerTransmitterEmpty = 0x02;  // ETBEI
    public const byte IerLineStatus = 0x04;        // ELSI
    public const byte IerModemStatus = 0x08;       // EDSSI
    public const byte IerWritableMask = 0x0F;

    // IIR (§8.4, Table IV). Bit 0 is 0 while an interrupt is pending.
    public const byte IirNoInterrupt = 0x01;
    public const byte IirLineStatus = 0x06;        // priority 1: OE/PE/FE/BI
    public const byte IirReceivedData = 0x04;      // priority 2: data at or above the trigger level
    public const byte IirCharacterTimeout = 0x0C;  // priority 2: data below the trigger level (FIFO mode)
    public const byte IirTransmitterEmpty = 0x02;  // priority 3
    public const byte IirModemStatus = 0x00;       // priority 4
    public const byte IirFifosEnabled = 0xC0;      // bits 7:6 set while FCR0 = 1

    // FCR (§8.5).
    public const byte FcrEnable = 0x01;
    public const byte FcrClearReceive = 0x02;
    public const byte FcrClearTransmit = 0x04;
    public const int FcrTriggerShift = 6;

    // LCR (§8.2).
    public const byte LcrDivisorLatchAccess = 0x80; // DLAB

    // MCR (§8.6). Bits 7:5 are always zero on a 16550A.
    public const byte McrDtr = 0x01;
    public const byte McrRts = 0x02;
    public const byte McrOut1 = 0x04;
    public const byte McrOut2 = 0x08;
    public const byte McrLoopback = 0x10;
    public const byte McrWritableMask = 0x1F;

    // LSR (§8.7).
    public const byte LsrDataReady = 0x01;
    public const byte LsrOverrunError = 0x02;
    public const byte LsrThrEmpty = 0x20;
    public const byte LsrTransmitterEmpty = 0x40;

    // MSR (§8.8): lower nibble = deltas (cleared on read), upper nibble = line states.
    public const byte MsrDeltaCts = 0x01;
    public const byte MsrDeltaDsr = 0x02;
    public const byte MsrTrailingEdgeRi = 0x04;
    public const byte MsrDeltaDcd = 0x08;
    public const byte MsrCts = 0x10;
    public const byte MsrDsr = 0x20;
    public const byte MsrRi = 0x40;
    public const byte MsrDcd = 0x80;
    public const byte MsrDeltaMask = 0x0F;
}
