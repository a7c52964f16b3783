namespace Ember.Devices.Legacy;

/// <summary>
/// Sends UART output to a <see cref="Stream"/> (stdout, a file, a pipe). A broken or closed
/// stream must not take the vCPU down, so write errors are swallowed and the bytes counted
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
            catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException)
            {
                Interlocked.Add(ref _droppedBytes, data.Length);
            }
        }
    }
}
