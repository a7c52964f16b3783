using Microsoft.Win32.SafeHandles;

namespace Ember.Bench.Block;

/// <summary>
/// The disk image both paths use: a file of <see cref="Length"/> bytes in the temp directory (which must be a real
/// file system, not tmpfs: checked by the caller's report), every block written with data (so no extent is
/// unwritten or a hole) and then read once, so the whole file sits in the page cache for device and raw runs alike.
/// </summary>
public sealed class BenchDiskFile : IDisposable
{
    public const long Length = 256L << 20;

    public BenchDiskFile()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"ember-bench-blk-{Environment.ProcessId}.img");
        Handle = File.OpenHandle(Path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, FileOptions.None, preallocationSize: Length);
        var chunk = new byte[1 << 20];
        new Random(7).NextBytes(chunk);
        for (long offset = 0; offset < Length; offset += chunk.Length)
            RandomAccess.Write(Handle, chunk, offset);
        RandomAccess.FlushToDisk(Handle);
        for (long offset = 0; offset < Length; offset += chunk.Length)
            RandomAccess.Read(Handle, chunk, offset);
    }

    public string Path { get; }

    public SafeFileHandle Handle { get; }

    public void Dispose()
    {
        Handle.Dispose();
        File.Delete(Path);
    }
}
