using Microsoft.Win32.SafeHandles;

namespace Ember.Devices.Virtio.Block;

/// <summary>
/// A disk image in a host file, through positional I/O (RandomAccess: pread/pwrite, fsync for flush). The
/// caller opens the file and owns the handle; the length is taken once here, so the disk does not grow or
/// shrink under the guest if the file does.
/// </summary>
public sealed class FileBlockBackend : IBlockBackend
{
    private readonly SafeFileHandle _handle;

    /// <param name="readOnly">True when the guest must not write (the handle may still be writable).</param>
    public FileBlockBackend(SafeFileHandle handle, bool readOnly)
    {
        ArgumentNullException.ThrowIfNull(handle);
        _handle = handle;
        IsReadOnly = readOnly;
        Length = (ulong)RandomAccess.GetLength(handle);
    }

    /// <summary>The file this backend reads and writes (its owner closes it).</summary>
    public SafeFileHandle File => _handle;

    public ulong Length { get; }

    public bool IsReadOnly { get; }

    public void Read(ulong offset, Span<byte> destination)
    {
        long position = checked((long)offset);
        while (!destination.IsEmpty)
        {
            int read = RandomAccess.Read(_handle, destination, position);
            if (read == 0)
                throw new EndOfStreamException($"the disk image ended at byte {position}, below its length at start-up ({Length})");
            destination = destination[read..];
            position += read;
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> source)
    {
        if (IsReadOnly)
            throw new IOException("the disk is read-only");
        RandomAccess.Write(_handle, source, checked((long)offset));
    }

    public void Flush() => RandomAccess.FlushToDisk(_handle);
}
