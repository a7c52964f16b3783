using Ember.Devices.Bus;

namespace Ember.Devices.Legacy;

/// <summary>
/// pc-testdev's 64 KiB MMIO scratch buffer (0xFF000000 in kvm-unit-tests): plain read/write
/// memory behind MMIO exits, for testing instruction emulation of every access width. Any
/// access that lies entirely inside the buffer works; one that runs past the end is dropped
/// (reads stay zero) and counted.
/// Threat model: fixed 64 KiB allocated once; offsets are bounds-checked with overflow-safe
/// arithmetic before any copy.
/// </summary>
public sealed class TestMmioBuffer : IBusDevice
{
    /// <summary>Buffer size and the length to register.</summary>
    public const int Size = 64 * 1024;

    private readonly Lock _lock = new();
    private readonly byte[] _buffer = new byte[Size];
    private long _unhandledAccesses;

    /// <summary>Accesses that run past the end of the buffer.</summary>
    public long UnhandledAccesses => Interlocked.Read(ref _unhandledAccesses);

    public void Read(ulong offset, Span<byte> data)
    {
        if (!Fits(offset, data.Length))
            return;
        // The lock keeps an 8-byte access from tearing against another vCPU's write.
        lock (_lock)
            _buffer.AsSpan((int)offset, data.Length).CopyTo(data);
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (!Fits(offset, data.Length))
            return;
        lock (_lock)
            data.CopyTo(_buffer.AsSpan((int)offset));
    }

    private bool Fits(ulong offset, int size)
    {
        if (size > 0 && offset < Size && (ulong)size <= Size - offset)
            return true;
        Interlocked.Increment(ref _unhandledAccesses);
        return false;
    }

    public TestMmioBufferState GetState()
    {
        lock (_lock)
            return new TestMmioBufferState((byte[])_buffer.Clone());
    }

    public static TestMmioBuffer FromState(TestMmioBufferState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(state.Contents);
        if (state.Contents.Length != Size)
            throw new ArgumentException($"buffer state has {state.Contents.Length} bytes, expected {Size}", nameof(state));
        var buffer = new TestMmioBuffer();
        state.Contents.CopyTo(buffer._buffer, 0);
        return buffer;
    }
}
