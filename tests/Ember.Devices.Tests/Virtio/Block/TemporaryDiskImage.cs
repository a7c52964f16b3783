using Microsoft.Win32.SafeHandles;

namespace Ember.Devices.Tests.Virtio.Block;

/// <summary>A real file in the temp directory, filled with a known pattern, opened read-write; deleted on dispose.</summary>
public sealed class TemporaryDiskImage : IDisposable
{
    /// <param name="directory">Where the file goes (another file system than the temp directory's, say); null for the temp directory.</param>
    public TemporaryDiskImage(long length, string? directory = null)
    {
        Path = System.IO.Path.Combine(directory ?? System.IO.Path.GetTempPath(), $"ember-blk-{Guid.NewGuid():N}.img");
        var content = new byte[length];
        for (long i = 0; i < length; i++)
            content[i] = PatternByte(i);
        File.WriteAllBytes(Path, content);
        Handle = File.OpenHandle(Path, FileMode.Open, FileAccess.ReadWrite);
    }

    public string Path { get; }

    public SafeFileHandle Handle { get; }

    /// <summary>The byte originally at <paramref name="offset"/>: differs from sector to sector and inside a sector.</summary>
    public static byte PatternByte(long offset) => (byte)((offset * 7) + (offset / 512));

    public static byte[] Pattern(long offset, int length) => Enumerable.Range(0, length).Select(i => PatternByte(offset + i)).ToArray();

    /// <summary>The file's bytes as another reader sees them now.</summary>
    public byte[] ReadBack(long offset, int length)
    {
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Position = offset;
        var bytes = new byte[length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    public void Dispose()
    {
        Handle.Dispose();
        File.Delete(Path);
    }
}
