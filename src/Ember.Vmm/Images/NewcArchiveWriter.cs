using System.Buffers;
using System.Text;

namespace Ember.Vmm.Images;

/// <summary>
/// Streams an SVR4 "new ASCII" (newc) cpio archive, the format Linux unpacks as an initramfs
/// (Documentation/driver-api/early-userspace/buffer-format.rst). Each entry is a 110-byte header
/// ("070701" and 13 eight-digit hex fields), the NUL-terminated name padded so header + name is a
/// multiple of 4, then the data padded to a multiple of 4; "TRAILER!!!" ends the archive.
/// <para>
/// Output is reproducible: owner and group are 0, every mtime is the one given to the
/// constructor, inode numbers count up from 1 in the order entries are added, and nothing is
/// read from the host but the bytes of files added with <see cref="AddFileFromHost"/>.
/// </para>
/// <para>
/// Names are relative ("bin/busybox", no leading "/"), with no empty, "." or ".." components, no
/// duplicates, and every parent must already be a directory in the archive: the kernel's unpacker
/// (init/initramfs.c) creates no missing parents and only logs a failed entry, so a mistake here
/// would otherwise surface as a file silently missing in the guest.
/// </para>
/// <see cref="Dispose"/> does not write the trailer: an archive abandoned by an exception stays
/// visibly incomplete. Call <see cref="Finish"/>.
/// </summary>
public sealed class NewcArchiveWriter : IDisposable
{
    /// <summary>c_magic of the newc format without checksums (buffer-format.rst).</summary>
    public const string Magic = "070701";

    /// <summary>6 magic bytes + 13 fields of 8 hex digits.</summary>
    public const int HeaderLength = 110;

    /// <summary>The name of the entry that ends an archive (buffer-format.rst).</summary>
    public const string TrailerName = "TRAILER!!!";

    /// <summary>
    /// Longest name in bytes, without its NUL: init/initramfs.c drops entries whose c_namesize
    /// (which counts the NUL) exceeds PATH_MAX (4096).
    /// </summary>
    public const int MaxNameBytes = 4095;

    /// <summary>Longest symlink target in bytes: the kernel reads it as a path, so PATH_MAX - 1 as well.</summary>
    public const int MaxSymlinkTargetBytes = 4095;

    /// <summary>c_filesize is eight hex digits, so no entry can carry more than 4 GiB - 1.</summary>
    public const long MaxFileSize = uint.MaxValue;

    /// <summary>Linux's dev_t has a 12-bit major and a 20-bit minor (include/linux/kdev_t.h, new_encode_dev).</summary>
    public const uint MaxDeviceMajor = (1u << 12) - 1;

    /// <summary>See <see cref="MaxDeviceMajor"/>.</summary>
    public const uint MaxDeviceMinor = (1u << 20) - 1;

    /// <summary>rwxr-xr-x: directories and executables.</summary>
    public const uint DefaultDirectoryPermissions = 0b111_101_101;

    /// <summary>rw-r--r--: plain files.</summary>
    public const uint DefaultFilePermissions = 0b110_100_100;

    /// <summary>Permission bits a mode may carry: setuid, setgid, sticky and rwx for owner, group, other (07777).</summary>
    public const uint PermissionMask = 0b111_111_111_111;

    // File type bits of st_mode (POSIX <sys/stat.h>; values as in Linux include/uapi/linux/stat.h).
    private const uint TypeDirectory = 0x4000;      // S_IFDIR  0040000
    private const uint TypeCharDevice = 0x2000;     // S_IFCHR  0020000
    private const uint TypeRegular = 0x8000;        // S_IFREG  0100000
    private const uint TypeSymlink = 0xA000;        // S_IFLNK  0120000

    /// <summary>Symlink permissions are ignored by Linux; 0777 is what lstat reports for them.</summary>
    private const uint SymlinkPermissions = 0b111_111_111;

    /// <summary>A directory's "." and its entry in the parent; only informational for the kernel.</summary>
    private const uint DirectoryLinkCount = 2;

    private const uint SingleLink = 1;

    private const int Alignment = 4;

    /// <summary>Copy buffer for host files: large enough for sequential reads, small enough to rent.</summary>
    private const int CopyBufferSize = 81920;

    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly HashSet<string> _directories = new(StringComparer.Ordinal);
    private uint _nextInode = 1;
    private long _position;
    private bool _finished;
    private bool _faulted;
    private bool _disposed;

    /// <param name="output">Where the archive goes; written sequentially, never sought.</param>
    /// <param name="modificationTime">c_mtime of every entry, in seconds since the Unix epoch.</param>
    /// <param name="leaveOpen">Leave <paramref name="output"/> open on <see cref="Dispose"/>.</param>
    public NewcArchiveWriter(Stream output, uint modificationTime = 0, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!output.CanWrite)
            throw new ArgumentException("The output stream is not writable.", nameof(output));
        _output = output;
        ModificationTime = modificationTime;
        _leaveOpen = leaveOpen;
    }

    public uint ModificationTime { get; }

    /// <summary>Bytes written so far (every entry is a multiple of 4).</summary>
    public long BytesWritten => _position;

    /// <summary>Entries added so far, not counting the trailer.</summary>
    public int EntryCount => _names.Count;

    public bool Contains(string name) => _names.Contains(name);

    public void AddDirectory(string name, uint permissions = DefaultDirectoryPermissions)
    {
        CheckEntry(name, permissions);
        WriteHeader(name, TypeDirectory | permissions, DirectoryLinkCount, fileSize: 0, rdevMajor: 0, rdevMinor: 0);
        _directories.Add(name);
    }

    /// <summary>
    /// Adds <paramref name="name"/> and each missing ancestor as directories, parents first; a
    /// directory that is already there is left alone. A non-directory in the way is an error.
    /// </summary>
    public void EnsureDirectory(string name, uint permissions = DefaultDirectoryPermissions)
    {
        ValidateName(name);
        var end = 0;
        while (end < name.Length)
        {
            var slash = name.IndexOf('/', end);
            end = slash < 0 ? name.Length : slash;
            var prefix = name[..end];
            if (!_directories.Contains(prefix))
                AddDirectory(prefix, permissions);
            end++;
        }
    }

    public void AddFile(string name, ReadOnlySpan<byte> content, uint permissions = DefaultFilePermissions)
    {
        CheckEntry(name, permissions);
        WriteHeader(name, TypeRegular | permissions, SingleLink, (uint)content.Length, 0, 0);
        WriteData(content);
        WritePadding();
    }

    /// <summary>
    /// Adds a regular file whose bytes are streamed from <paramref name="hostPath"/> (never loaded
    /// whole). The size is taken when the file is opened; if the file then grows or shrinks the
    /// archive is already damaged, so this throws <see cref="IOException"/> and the writer refuses
    /// further entries.
    /// </summary>
    public void AddFileFromHost(string name, string hostPath, uint permissions = DefaultFilePermissions)
    {
        ArgumentNullException.ThrowIfNull(hostPath);
        CheckEntry(name, permissions);
        using var source = new FileStream(hostPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        var length = source.Length;
        if (length > MaxFileSize)
            throw new IOException($"'{hostPath}' is {length} bytes; a newc entry holds at most {MaxFileSize}.");

        _faulted = true; // Until the data and padding are out, the archive is inconsistent.
        WriteHeader(name, TypeRegular | permissions, SingleLink, (uint)length, 0, 0);
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            var remaining = length;
            while (remaining > 0)
            {
                var read = source.Read(buffer, 0, (int)Math.Min(buffer.Length, remaining));
                if (read == 0)
                    throw new IOException($"'{hostPath}' shrank while it was being archived ({remaining} of {length} bytes missing).");
                WriteData(buffer.AsSpan(0, read));
                remaining -= read;
            }
            if (source.Read(buffer, 0, 1) != 0)
                throw new IOException($"'{hostPath}' grew while it was being archived (expected {length} bytes).");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        WritePadding();
        _faulted = false;
    }

    /// <summary>Adds a symbolic link; its data is the target path, without a NUL (as GNU cpio writes it).</summary>
    public void AddSymlink(string name, string target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (target.Length == 0 || target.Contains('\0'))
            throw new ArgumentException($"Symlink target of '{name}' must be non-empty and contain no NUL.", nameof(target));
        var targetBytes = Encoding.UTF8.GetBytes(target);
        if (targetBytes.Length > MaxSymlinkTargetBytes)
            throw new ArgumentException($"Symlink target of '{name}' is longer than {MaxSymlinkTargetBytes} bytes.", nameof(target));
        CheckEntry(name, SymlinkPermissions);
        WriteHeader(name, TypeSymlink | SymlinkPermissions, SingleLink, (uint)targetBytes.Length, 0, 0);
        WriteData(targetBytes);
        WritePadding();
    }

    /// <summary>Adds a character device node, e.g. /dev/console (5, 1) or /dev/null (1, 3) per Documentation/admin-guide/devices.txt.</summary>
    public void AddCharacterDevice(string name, uint major, uint minor, uint permissions)
    {
        if (major > MaxDeviceMajor)
            throw new ArgumentOutOfRangeException(nameof(major), major, $"Device major numbers are at most {MaxDeviceMajor}.");
        if (minor > MaxDeviceMinor)
            throw new ArgumentOutOfRangeException(nameof(minor), minor, $"Device minor numbers are at most {MaxDeviceMinor}.");
        CheckEntry(name, permissions);
        WriteHeader(name, TypeCharDevice | permissions, SingleLink, fileSize: 0, major, minor);
    }

    /// <summary>Writes the trailer and flushes. No entries can be added afterwards.</summary>
    public void Finish()
    {
        ThrowIfUnusable();
        // The trailer is an entry like any other with everything zero but nlink, as GNU cpio writes it.
        WriteHeader(TrailerName, mode: 0, SingleLink, fileSize: 0, rdevMajor: 0, rdevMinor: 0, inode: 0);
        _finished = true;
        _output.Flush();
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        if (!_leaveOpen)
            _output.Dispose();
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="name"/> is a name this writer accepts.</summary>
    public static void ValidateName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0)
            throw new ArgumentException("An archive name must not be empty.", nameof(name));
        if (name.Contains('\0'))
            throw new ArgumentException($"Archive name '{name.Replace("\0", "\\0")}' contains a NUL.", nameof(name));
        if (name[0] == '/')
            throw new ArgumentException($"Archive name '{name}' must be relative (no leading '/').", nameof(name));
        if (name == TrailerName)
            throw new ArgumentException($"'{TrailerName}' would end the archive early.", nameof(name));
        foreach (var component in name.Split('/'))
        {
            if (component.Length == 0)
                throw new ArgumentException($"Archive name '{name}' has an empty component (double or trailing '/').", nameof(name));
            if (component is "." or "..")
                throw new ArgumentException($"Archive name '{name}' has a '{component}' component.", nameof(name));
        }
        if (Encoding.UTF8.GetByteCount(name) > MaxNameBytes)
            throw new ArgumentException($"Archive name '{name[..32]}...' is longer than {MaxNameBytes} bytes.", nameof(name));
    }

    private void CheckEntry(string name, uint permissions)
    {
        ThrowIfUnusable();
        ValidateName(name);
        if (permissions > PermissionMask)
            throw new ArgumentOutOfRangeException(nameof(permissions), permissions, "Only permission bits (07777) may be given; the writer sets the file type.");
        if (_names.Contains(name))
            throw new ArgumentException($"'{name}' is already in the archive.", nameof(name));
        var slash = name.LastIndexOf('/');
        if (slash > 0 && !_directories.Contains(name[..slash]))
            throw new ArgumentException($"The parent of '{name}' is not a directory in the archive; add '{name[..slash]}' first.", nameof(name));
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_finished)
            throw new InvalidOperationException("The archive is finished.");
        if (_faulted)
            throw new InvalidOperationException("An earlier entry failed half-written; the archive is damaged.");
    }

    /// <summary>Writes one header and name; every entry but the trailer (which passes its inode) is recorded as taken.</summary>
    private void WriteHeader(string name, uint mode, uint linkCount, uint fileSize, uint rdevMajor, uint rdevMinor, uint? inode = null)
    {
        if (inode is null)
            _names.Add(name);
        var nameBytes = Encoding.UTF8.GetByteCount(name);
        var nameSize = nameBytes + 1; // c_namesize counts the terminating NUL.
        var headerAndName = HeaderLength + nameSize;
        var padded = Align(headerAndName);
        var rented = ArrayPool<byte>.Shared.Rent(padded);
        try
        {
            var buffer = rented.AsSpan(0, padded);
            buffer.Clear();
            Encoding.ASCII.GetBytes(Magic, buffer);
            var fields = buffer[Magic.Length..HeaderLength];
            uint[] values =
            [
                inode ?? _nextInode++,  // c_ino
                mode,                   // c_mode
                0,                      // c_uid: root
                0,                      // c_gid: root
                linkCount,              // c_nlink
                ModificationTime,       // c_mtime
                fileSize,               // c_filesize
                0,                      // c_devmajor: the (nonexistent) device holding the file
                0,                      // c_devminor
                rdevMajor,              // c_rdevmajor: for device nodes
                rdevMinor,              // c_rdevminor
                (uint)nameSize,         // c_namesize
                0,                      // c_check: always 0 for 070701
            ];
            for (var i = 0; i < values.Length; i++)
            {
                // Upper-case hex as GNU cpio writes it; the kernel's parser takes either case.
                if (!values[i].TryFormat(fields.Slice(i * 8, 8), out var written, "X8", null) || written != 8)
                    throw new InvalidOperationException("A newc header field did not format to 8 hex digits.");
            }
            Encoding.UTF8.GetBytes(name, buffer.Slice(HeaderLength, nameBytes));
            WriteData(buffer);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private void WriteData(ReadOnlySpan<byte> data)
    {
        _output.Write(data);
        _position += data.Length;
    }

    private void WritePadding()
    {
        Span<byte> zeros = stackalloc byte[Alignment];
        zeros.Clear();
        WriteData(zeros[..(int)(Align(_position) - _position)]);
    }

    private static int Align(int value) => (value + Alignment - 1) & ~(Alignment - 1);

    private static long Align(long value) => (value + Alignment - 1) & ~(long)(Alignment - 1);
}
