using System.Buffers.Binary;
using Ember.Devices.Bus;

namespace Ember.Devices.Legacy;

/// <summary>
/// The ACPI power-management timer (ACPI 6.5 §4.8.3.3, PM_TMR_BLK): a free-running up-counter
/// at 3.579545 MHz, derived from a <see cref="TimeProvider"/> timestamp so it needs no host timer.
/// <para>
/// Width: this timer is 32 bits wide, so the FADT must set TMR_VAL_EXT (Fixed Feature Flags
/// bit 8) and PM_TMR_LEN = 4. The register is read-only; 1-, 2- and 4-byte reads of any bytes
/// inside it return those bytes of the little-endian counter. TMR_STS/SCI on counter overflow
/// are not generated (no SCI is wired; Linux only uses the counter).
/// </para>
/// Threat model: stateless towards the guest — reads compute a value, writes are dropped and
/// counted, accesses outside the four bytes are dropped; the 128-bit intermediate cannot overflow.
/// </summary>
public sealed class AcpiPmTimer : IBusDevice
{
    /// <summary>PM timer frequency, 3.579545 MHz (ACPI 6.5 §4.8.3.3).</summary>
    public const long FrequencyHz = 3_579_545;

    /// <summary>Counter width in bits; tells the FADT writer to set TMR_VAL_EXT.</summary>
    public const int CounterBits = 32;

    /// <summary>PM_TMR_LEN for the FADT.</summary>
    public const ulong Length = 4;

    private readonly TimeProvider _time;
    private readonly long _startTimestamp;
    private readonly uint _startCounter;
    private long _unhandledAccesses;

    public AcpiPmTimer(TimeProvider time) : this(time, 0)
    {
    }

    private AcpiPmTimer(TimeProvider time, uint startCounter)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _startTimestamp = time.GetTimestamp();
        _startCounter = startCounter;
    }

    /// <summary>Writes and accesses outside the register.</summary>
    public long UnhandledAccesses => Interlocked.Read(ref _unhandledAccesses);

    /// <summary>The counter now; wraps at 2^32 (about 20 minutes).</summary>
    public uint Counter
    {
        get
        {
            long elapsed = Math.Max(0, _time.GetTimestamp() - _startTimestamp);
            UInt128 ticks = (UInt128)(ulong)elapsed * FrequencyHz / (ulong)_time.TimestampFrequency;
            return unchecked(_startCounter + (uint)ticks);
        }
    }

    public void Read(ulong offset, Span<byte> data)
    {
        if (offset >= Length || (ulong)data.Length > Length - offset)
        {
            Interlocked.Increment(ref _unhandledAccesses);
            return;
        }
        Span<byte> counter = stackalloc byte[sizeof(uint)];
        BinaryPrimitives.WriteUInt32LittleEndian(counter, Counter);
        counter.Slice((int)offset, data.Length).CopyTo(data);
    }

    /// <summary>The register is read-only (ACPI 6.5 §4.8.3.3).</summary>
    public void Write(ulong offset, ReadOnlySpan<byte> data) => Interlocked.Increment(ref _unhandledAccesses);

    public AcpiPmTimerState GetState() => new(Counter);

    /// <summary>A timer that continues counting from the snapshot's value.</summary>
    public static AcpiPmTimer FromState(AcpiPmTimerState state, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(state);
        return new AcpiPmTimer(time, state.Counter);
    }
}
