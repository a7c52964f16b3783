using Ember.Devices.Bus;

namespace Ember.Devices.Legacy;

/// <summary>
/// Firecracker-compatible boot timer: when the guest's init writes the byte
/// <see cref="BootCompleteMagic"/> (123) at offset 0 of this MMIO page, the time elapsed since
/// the VMM's start timestamp is reported through <see cref="BootTimeReported"/>. Any other
/// value, width or offset is ignored and counted. Reads return zero.
/// Threat model: no state; a guest can report as often as it likes, so the handler must be cheap.
/// </summary>
public sealed class BootTimerDevice : IBusDevice
{
    /// <summary>The value Firecracker's guest tooling writes to signal "boot complete".</summary>
    public const byte BootCompleteMagic = 123;

    private readonly TimeProvider _time;
    private readonly long _startTimestamp;
    private long _ignoredWrites;

    /// <param name="time">The clock the start timestamp came from.</param>
    /// <param name="startTimestamp">A <see cref="TimeProvider.GetTimestamp"/> value taken when the VMM started.</param>
    public BootTimerDevice(TimeProvider time, long startTimestamp)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _startTimestamp = startTimestamp;
    }

    /// <summary>Raised on the vCPU thread with the elapsed time since the start timestamp.</summary>
    public event Action<TimeSpan>? BootTimeReported;

    /// <summary>Writes that were not the boot-complete byte at offset 0.</summary>
    public long IgnoredWrites => Interlocked.Read(ref _ignoredWrites);

    public void Read(ulong offset, Span<byte> data)
    {
        // Reads as zero; the bus already cleared data.
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (offset != 0 || data.Length != 1 || data[0] != BootCompleteMagic)
        {
            Interlocked.Increment(ref _ignoredWrites);
            return;
        }
        BootTimeReported?.Invoke(_time.GetElapsedTime(_startTimestamp));
    }
}
