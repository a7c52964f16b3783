using Ember.Sys;
using Microsoft.Win32.SafeHandles;

namespace Ember.Devices.Virtio.Block;

/// <summary>
/// A disk image in a host file, through positional I/O (RandomAccess: pread/pwrite; fdatasync for flush). The
/// caller opens the file and owns the handle; the length is taken once here, so the disk does not grow or
/// shrink under the guest if the file does. Discard punches a hole (fallocate PUNCH_HOLE | KEEP_SIZE), so the
/// image file shrinks on the host; write-zeroes zeroes the range in place (ZERO_RANGE), or punches a hole when the
/// guest allows unmapping, and writes zero bytes where the file system can do neither.
/// </summary>
public sealed class FileBlockBackend : IBlockBackend
{
    /// <summary>What a write-zeroes writes per call when the file system cannot zero a range itself.</summary>
    private static readonly byte[] ZeroChunk = new byte[64 * 1024];

    private readonly SafeFileHandle _handle;
    private long _zeroBytesWritten;

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

    /// <summary>Bytes write-zeroes had to write as zeroes because the file system refused to zero or punch the range.</summary>
    public long ZeroBytesWritten => Interlocked.Read(ref _zeroBytesWritten);

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
        ThrowIfReadOnly();
        RandomAccess.Write(_handle, source, checked((long)offset));
    }

    /// <summary>fdatasync: the image's length never changes, so the data (and the block map it needs) is what must reach the disk.</summary>
    public void Flush() => AsIoError(() =>
    {
        FileSync.SyncData(_handle);
        return true;
    });

    /// <summary>A hole where the file system can punch one; elsewhere nothing (discard is only a hint, virtio 1.2 §5.2.6.2).</summary>
    public void Discard(ulong offset, ulong length)
    {
        ThrowIfReadOnly();
        if (length == 0)
            return;
        AsIoError(() => FileSpace.TryPunchHole(_handle, checked((long)offset), checked((long)length)));
    }

    public void WriteZeroes(ulong offset, ulong length, bool mayDeallocate)
    {
        ThrowIfReadOnly();
        if (length == 0)
            return;
        long position = checked((long)offset);
        long count = checked((long)length);
        if (mayDeallocate && AsIoError(() => FileSpace.TryPunchHole(_handle, position, count)))
            return;
        if (AsIoError(() => FileSpace.TryZeroRange(_handle, position, count)))
            return;
        // Neither (tmpfs cannot ZERO_RANGE, some file systems cannot fallocate at all): the zeroes are written.
        while (count > 0)
        {
            int chunk = (int)Math.Min(count, ZeroChunk.Length);
            RandomAccess.Write(_handle, ZeroChunk.AsSpan(0, chunk), position);
            position += chunk;
            count -= chunk;
            Interlocked.Add(ref _zeroBytesWritten, chunk);
        }
    }

    private void ThrowIfReadOnly()
    {
        if (IsReadOnly)
            throw new IOException("the disk is read-only");
    }

    /// <summary>Runs a fallocate or fdatasync, its errors as the IOException the device answers with IOERR.</summary>
    private static bool AsIoError(Func<bool> operation)
    {
        try
        {
            return operation();
        }
        catch (SystemCallException e)
        {
            throw new IOException(e.Message, e);
        }
    }
}
