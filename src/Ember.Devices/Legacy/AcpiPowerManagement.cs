using Ember.Devices.Bus;

namespace Ember.Devices.Legacy;

/// <summary>
/// The ACPI fixed-hardware PM1a event block (PM1_STS + PM1_EN, ACPI 6.5 §4.8.3.1) and PM1a
/// control block (PM1_CNT, §4.8.3.2) in one device, laid out at the public offsets below so
/// the FADT writer can point PM1a_EVT_BLK and PM1a_CNT_BLK at them.
/// <para>
/// Writing SLP_EN with SLP_TYP = <see cref="S5SleepType"/> (the value the DSDT's \_S5 package
/// must carry) raises <see cref="PowerOffRequested"/>. Other sleep states are not supported and
/// are counted. SCI_EN reads back what was written and starts set: the FADT has no SMI_CMD, so
/// the platform is always in ACPI mode (§4.8.2.1, §5.2.9 SMI_CMD). No SCI is wired, so PM1_STS
/// bits are never set by the platform; they are write-1-to-clear as the spec requires.
/// </para>
/// Threat model: three 16-bit registers, no buffers; reserved bits are masked on write; any
/// 1-, 2- or 4-byte access inside the block is split per register, everything else is dropped
/// and counted. A guest can only ask for power-off, which it can always do by halting.
/// </summary>
public sealed class AcpiPowerManagement : IBusDevice
{
    /// <summary>PM1a_EVT_BLK starts here: PM1_STS at +0, PM1_EN at +2 (each half of the block, §4.8.3.1).</summary>
    public const ulong Pm1EventBlockOffset = 0;
    /// <summary>PM1_EVT_LEN for the FADT.</summary>
    public const byte Pm1EventBlockLength = 4;
    public const ulong Pm1StatusOffset = Pm1EventBlockOffset;
    public const ulong Pm1EnableOffset = Pm1EventBlockOffset + 2;

    /// <summary>PM1a_CNT_BLK starts here.</summary>
    public const ulong Pm1ControlBlockOffset = 4;
    /// <summary>PM1_CNT_LEN for the FADT.</summary>
    public const byte Pm1ControlBlockLength = 2;

    /// <summary>Register the device over this many bytes.</summary>
    public const ulong Length = Pm1ControlBlockOffset + Pm1ControlBlockLength;

    /// <summary>SLP_TYP value meaning S5 (soft off). The DSDT's \_S5 package must use the same value.</summary>
    public const byte S5SleepType = 5;

    // PM1_STS bits (§4.8.3.1.1, Table 4.16): TMR, BM, GBL, PWRBTN, SLPBTN, RTC, PCIEXP_WAKE, WAK.
    private const ushort StatusDefinedMask = 0xC731;
    // PM1_EN bits (§4.8.3.1.2, Table 4.17): TMR_EN, GBL_EN, PWRBTN_EN, SLPBTN_EN, RTC_EN, PCIEXP_WAKE_DIS.
    private const ushort EnableWritableMask = 0x4721;

    // PM1_CNT bits (§4.8.3.2.1, Table 4.18).
    private const ushort ControlSciEnable = 0x0001;
    private const ushort ControlBusMasterReload = 0x0002;
    private const int SleepTypeShift = 10;
    private const ushort SleepTypeMask = 0x7 << SleepTypeShift;
    private const ushort SleepEnable = 0x2000; // write-only, reads as zero
    // GBL_RLS (bit 2) and SLP_EN are write-only; only these bits are stored.
    private const ushort ControlStoredMask = ControlSciEnable | ControlBusMasterReload | SleepTypeMask;

    private readonly Lock _lock = new();
    private ushort _status;
    private ushort _enable;
    private ushort _control = ControlSciEnable;
    private long _unhandledAccesses;
    private long _unsupportedSleepRequests;

    /// <summary>Raised (on the vCPU thread, no lock held) when the guest enters S5.</summary>
    public event Action? PowerOffRequested;

    /// <summary>Accesses with an odd width or outside the blocks.</summary>
    public long UnhandledAccesses => Interlocked.Read(ref _unhandledAccesses);

    /// <summary>SLP_EN writes with a sleep type other than S5.</summary>
    public long UnsupportedSleepRequests => Interlocked.Read(ref _unsupportedSleepRequests);

    public void Read(ulong offset, Span<byte> data)
    {
        if (!IsValidAccess(offset, data.Length))
            return;
        lock (_lock)
        {
            for (int i = 0; i < data.Length; i++)
            {
                ulong byteOffset = offset + (ulong)i;
                ushort register = (byteOffset & ~1UL) switch
                {
                    Pm1StatusOffset => _status,
                    Pm1EnableOffset => _enable,
                    _ => _control,
                };
                data[i] = (byte)(register >> (int)(8 * (byteOffset & 1)));
            }
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (!IsValidAccess(offset, data.Length))
            return;
        bool powerOff = false;
        lock (_lock)
        {
            if (TryGather(offset, data, Pm1StatusOffset, out ushort value, out ushort mask))
                _status &= (ushort)~(value & mask & StatusDefinedMask); // write 1 to clear
            if (TryGather(offset, data, Pm1EnableOffset, out value, out mask))
                _enable = (ushort)((_enable & ~mask) | (value & mask & EnableWritableMask));
            if (TryGather(offset, data, Pm1ControlBlockOffset, out value, out mask))
            {
                _control = (ushort)((_control & ~mask) | (value & mask & ControlStoredMask));
                if ((value & mask & SleepEnable) != 0)
                {
                    int sleepType = (_control & SleepTypeMask) >> SleepTypeShift;
                    if (sleepType == S5SleepType)
                        powerOff = true;
                    else
                        Interlocked.Increment(ref _unsupportedSleepRequests);
                }
            }
        }
        if (powerOff)
            PowerOffRequested?.Invoke();
    }

    private bool IsValidAccess(ulong offset, int size)
    {
        if (size is 1 or 2 or 4 && offset < Length && (ulong)size <= Length - offset)
            return true;
        Interlocked.Increment(ref _unhandledAccesses);
        return false;
    }

    /// <summary>The bytes of a write that land in the 16-bit register at <paramref name="registerOffset"/>, and which of them.</summary>
    private static bool TryGather(ulong offset, ReadOnlySpan<byte> data, ulong registerOffset, out ushort value, out ushort mask)
    {
        value = 0;
        mask = 0;
        for (int i = 0; i < data.Length; i++)
        {
            ulong byteOffset = offset + (ulong)i;
            if (byteOffset < registerOffset || byteOffset > registerOffset + 1)
                continue;
            int shift = 8 * (int)(byteOffset - registerOffset);
            value |= (ushort)(data[i] << shift);
            mask |= (ushort)(0xFF << shift);
        }
        return mask != 0;
    }

    public AcpiPowerManagementState GetState()
    {
        lock (_lock)
            return new AcpiPowerManagementState(_status, _enable, _control);
    }

    public static AcpiPowerManagement FromState(AcpiPowerManagementState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return new AcpiPowerManagement
        {
            _status = (ushort)(state.Status & StatusDefinedMask),
            _enable = (ushort)(state.Enable & EnableWritableMask),
            _control = (ushort)(state.Control & ControlStoredMask),
        };
    }
}
