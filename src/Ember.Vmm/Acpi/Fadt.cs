using System.Buffers.Binary;

namespace Ember.Vmm.Acpi;

/// <summary>
/// Fixed ACPI Description Table, revision 6 (ACPI 6.x §5.2.9, Table 5.9; 276 bytes). A full
/// (not hardware-reduced) fixed-hardware model: PM1a event and control blocks and a 32-bit PM
/// timer in the I/O block at <see cref="Layout.PmBlockBase"/>, SCI on IRQ 9, no SMI command
/// port (so ACPI mode is always on and SCI_EN must read as 1), reset through the i8042.
/// Both the 32-bit block fields and the X_ Generic Address Structures are filled, consistently.
/// </summary>
public static class Fadt
{
    public const string Signature = "FACP";

    /// <summary>FADT major version 6 …</summary>
    public const byte Revision = 6;

    /// <summary>… minor version 3: ACPI 6.3, the first with the MADT online-capable bit Linux looks for.</summary>
    public const byte MinorVersion = 3;

    public const int Length = 276;

    // Field offsets (Table 5.9).
    public const int FirmwareCtrlOffset = 36;
    public const int DsdtOffset = 40;
    public const int PreferredPmProfileOffset = 45;
    public const int SciIntOffset = 46;
    public const int SmiCmdOffset = 48;
    public const int AcpiEnableOffset = 52;
    public const int AcpiDisableOffset = 53;
    public const int Pm1aEventBlockOffset = 56;
    public const int Pm1bEventBlockOffset = 60;
    public const int Pm1aControlBlockOffset = 64;
    public const int Pm1bControlBlockOffset = 68;
    public const int Pm2ControlBlockOffset = 72;
    public const int PmTimerBlockOffset = 76;
    public const int Gpe0BlockOffset = 80;
    public const int Gpe1BlockOffset = 84;
    public const int Pm1EventLengthOffset = 88;
    public const int Pm1ControlLengthOffset = 89;
    public const int Pm2ControlLengthOffset = 90;
    public const int PmTimerLengthOffset = 91;
    public const int Gpe0BlockLengthOffset = 92;
    public const int Gpe1BlockLengthOffset = 93;
    public const int C2LatencyOffset = 96;
    public const int C3LatencyOffset = 98;
    public const int CenturyOffset = 108;
    public const int IapcBootArchOffset = 109;
    public const int FlagsOffset = 112;
    public const int ResetRegisterOffset = 116;
    public const int ResetValueOffset = 128;
    public const int ArmBootArchOffset = 129;
    public const int MinorVersionOffset = 131;
    public const int XFirmwareCtrlOffset = 132;
    public const int XDsdtOffset = 140;
    public const int XPm1aEventBlockOffset = 148;
    public const int XPm1bEventBlockOffset = 160;
    public const int XPm1aControlBlockOffset = 172;
    public const int XPm1bControlBlockOffset = 184;
    public const int XPm2ControlBlockOffset = 196;
    public const int XPmTimerBlockOffset = 208;
    public const int XGpe0BlockOffset = 220;
    public const int XGpe1BlockOffset = 232;
    public const int SleepControlRegisterOffset = 244;
    public const int SleepStatusRegisterOffset = 256;
    public const int HypervisorVendorIdentityOffset = 268;

    // Fixed feature flags (Table 5.10).
    public const uint FlagWbinvd = 1u << 0;
    public const uint FlagProcC1 = 1u << 2;
    public const uint FlagPowerButton = 1u << 4;
    public const uint FlagSleepButton = 1u << 5;
    public const uint FlagFixRtc = 1u << 6;
    public const uint FlagTmrValExt = 1u << 8;
    public const uint FlagResetRegSup = 1u << 10;
    public const uint FlagHwReducedAcpi = 1u << 20;

    /// <summary>
    /// WBINVD works (mandatory), C1 is supported (HLT), the sleep button is absent
    /// (SLP_BUTTON set) while the power button is the fixed-hardware one (PWR_BUTTON clear, so
    /// the host can request shutdown through PWRBTN_STS), no RTC wake status in PM1 (FIX_RTC),
    /// a 32-bit PM timer (TMR_VAL_EXT) and a reset register.
    /// </summary>
    public const uint Flags = FlagWbinvd | FlagProcC1 | FlagSleepButton | FlagFixRtc | FlagTmrValExt | FlagResetRegSup;

    // IA-PC boot architecture flags (Table 5.11).
    public const ushort BootArchLegacyDevices = 1 << 0;
    public const ushort BootArch8042 = 1 << 1;
    public const ushort BootArchVgaNotPresent = 1 << 2;

    /// <summary>ISA devices (COM1, RTC) and an i8042 exist; there is no VGA.</summary>
    public const ushort IapcBootArch = BootArchLegacyDevices | BootArch8042 | BootArchVgaNotPresent;

    /// <summary>P_LVL2_LAT above 100 µs means C2 is not supported (Table 5.9).</summary>
    public const ushort C2NotSupported = 101;

    /// <summary>P_LVL3_LAT above 1000 µs means C3 is not supported.</summary>
    public const ushort C3NotSupported = 1001;

    public static byte[] Encode(ulong facsAddress, ulong dsdtAddress)
    {
        if (facsAddress > uint.MaxValue || dsdtAddress > uint.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(facsAddress), "ACPI tables must be below 4 GiB");
        }
        var bytes = new byte[Length];
        var span = bytes.AsSpan();
        AcpiTableHeader.Write(span, Signature, Revision);

        BinaryPrimitives.WriteUInt32LittleEndian(span[FirmwareCtrlOffset..], (uint)facsAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(span[DsdtOffset..], (uint)dsdtAddress);
        BinaryPrimitives.WriteUInt16LittleEndian(span[SciIntOffset..], Layout.SciIrq);
        // SMI_CMD, ACPI_ENABLE, ACPI_DISABLE stay 0: no SMI, the platform is always in ACPI mode.
        BinaryPrimitives.WriteUInt32LittleEndian(span[Pm1aEventBlockOffset..], Layout.Pm1EventBlock);
        BinaryPrimitives.WriteUInt32LittleEndian(span[Pm1aControlBlockOffset..], Layout.Pm1ControlBlock);
        BinaryPrimitives.WriteUInt32LittleEndian(span[PmTimerBlockOffset..], Layout.PmTimerBlock);
        span[Pm1EventLengthOffset] = Layout.Pm1EventBlockLength;
        span[Pm1ControlLengthOffset] = Layout.Pm1ControlBlockLength;
        span[PmTimerLengthOffset] = Layout.PmTimerBlockLength;
        BinaryPrimitives.WriteUInt16LittleEndian(span[C2LatencyOffset..], C2NotSupported);
        BinaryPrimitives.WriteUInt16LittleEndian(span[C3LatencyOffset..], C3NotSupported);
        BinaryPrimitives.WriteUInt16LittleEndian(span[IapcBootArchOffset..], IapcBootArch);
        BinaryPrimitives.WriteUInt32LittleEndian(span[FlagsOffset..], Flags);

        // Reset: writing 0xFE to the i8042 command port pulses the CPU reset line.
        GenericAddress.Io(Layout.I8042CommandPort, 8, GenericAddress.AccessByte).Write(span[ResetRegisterOffset..]);
        span[ResetValueOffset] = Layout.I8042ResetCommand;
        span[MinorVersionOffset] = MinorVersion;

        BinaryPrimitives.WriteUInt64LittleEndian(span[XFirmwareCtrlOffset..], facsAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(span[XDsdtOffset..], dsdtAddress);
        // PM1 status/enable and control are 16-bit registers; the timer is read as one dword.
        GenericAddress.Io(Layout.Pm1EventBlock, Layout.Pm1EventBlockLength * 8, GenericAddress.AccessWord).Write(span[XPm1aEventBlockOffset..]);
        GenericAddress.Io(Layout.Pm1ControlBlock, Layout.Pm1ControlBlockLength * 8, GenericAddress.AccessWord).Write(span[XPm1aControlBlockOffset..]);
        GenericAddress.Io(Layout.PmTimerBlock, Layout.PmTimerBlockLength * 8, GenericAddress.AccessDword).Write(span[XPmTimerBlockOffset..]);

        AcpiTableHeader.Seal(span);
        return bytes;
    }
}
