using System.Diagnostics;
using Ember.Devices.Virtio.Block;

namespace Ember.Bench.Block;

/// <summary>
/// A backend that stamps the time around each call into the one it wraps, so a request's notify-to-completion can be
/// split into the device's work before the system call, the call itself, and the device's work after it.
/// </summary>
public sealed class TimingBlockBackend(IBlockBackend inner) : IBlockBackend
{
    /// <summary>Stopwatch timestamps of the last read's start and end.</summary>
    public long ReadStarted { get; private set; }

    public long ReadEnded { get; private set; }

    public ulong Length => inner.Length;

    public bool IsReadOnly => inner.IsReadOnly;

    public void Read(ulong offset, Span<byte> destination)
    {
        ReadStarted = Stopwatch.GetTimestamp();
        inner.Read(offset, destination);
        ReadEnded = Stopwatch.GetTimestamp();
    }

    public void Write(ulong offset, ReadOnlySpan<byte> source) => inner.Write(offset, source);

    public void Flush() => inner.Flush();

    public void Discard(ulong offset, ulong length) => inner.Discard(offset, length);

    public void WriteZeroes(ulong offset, ulong length, bool mayDeallocate) => inner.WriteZeroes(offset, length, mayDeallocate);
}
