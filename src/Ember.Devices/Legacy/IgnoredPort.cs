using Ember.Devices.Bus;

namespace Ember.Devices.Legacy;

/// <summary>
/// A port range that exists only so guest accesses do not fall through to "unclaimed": reads
/// return zero and writes are dropped. Used for the POST-code port 0x80 (also Linux's I/O delay
/// port) and for pc-testdev's flush-page port 0xE4, which a VMM can accept and ignore because
/// it has no cached page to flush. The last byte written at offset 0 is kept as the POST code.
/// Threat model: no buffers; the only state is one byte and a counter.
/// </summary>
public sealed class IgnoredPort : IBusDevice
{
    private int _lastPostCode;
    private long _writes;

    /// <summary>The low byte of the last write at offset 0 (a BIOS/firmware progress code).</summary>
    public byte LastPostCode => (byte)Volatile.Read(ref _lastPostCode);

    /// <summary>Writes seen at any offset.</summary>
    public long Writes => Interlocked.Read(ref _writes);

    public void Read(ulong offset, Span<byte> data)
    {
        // Reads as zero; the bus already cleared data.
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        Interlocked.Increment(ref _writes);
        if (offset == 0 && data.Length > 0)
            Volatile.Write(ref _lastPostCode, data[0]);
    }
}
