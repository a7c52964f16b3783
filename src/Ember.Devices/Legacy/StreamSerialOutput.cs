namespace Ember.Devices.Legacy;

/// <summary>
/// Sends UART output to a <see cref="Stream"/> (stdout, a file, a pipe). A broken or closed
/// stream must not take the vCPU down, so every write error (a closed or full stdout, a descriptor that is
/// not writable) is swallowed and the bytes counted
/// in <see cref="DroppedBytes"/>.
/// </summary>
public sealed class StreamSerialOutput(Stream stream, bool flushEachWrite = true) : ISerialOutput
{
    private readonly Stream _stream = stream ?? throw new ArgumentNullException(nameof(stream));
    private readonly Lock _lock = new();
    private long _droppedBytes;

    /// <summary>Bytes lost because the stream failed or was closed.</summary>
    public long DroppedBytes => Interlocked.Read(ref _droppedBytes);

    public void Write(ReadOnlySpan<byte> data)
    {
        // Several vCPUs may share one console stream; Stream instances are not thread-safe.
        lock (_lock)
        {
            try
            {
                _stream.Write(data);
                if (flushEachWrite)
                    _stream.Flush();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Interlocked.Add(ref _droppedBytes, data.Length);
            }
        }
    }
}
