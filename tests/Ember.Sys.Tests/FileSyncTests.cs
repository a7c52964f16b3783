namespace Ember.Sys.Tests;

/// <summary>fdatasync through <see cref="FileSync"/> on a real file, and its failure as a typed exception.</summary>
public sealed class FileSyncTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"ember-filesync-{Guid.NewGuid():N}");

    public void Dispose() => File.Delete(_path);

    [Fact]
    public void ASyncedFileKeepsWhatWasWritten()
    {
        File.WriteAllBytes(_path, new byte[4096]);
        using (var file = File.OpenHandle(_path, FileMode.Open, FileAccess.ReadWrite))
        {
            RandomAccess.Write(file, "synced"u8, 100);
            FileSync.SyncData(file);
        }
        Assert.Equal("synced"u8.ToArray(), File.ReadAllBytes(_path).AsSpan(100, 6).ToArray());
    }

    [Fact]
    public void AFileThatCannotBeSyncedThrowsWithItsErrno()
    {
        // /dev/null has no fsync operation: the kernel answers EINVAL, as the man page says for such files.
        using var file = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Write);
        var e = Assert.Throws<SystemCallException>(() => FileSync.SyncData(file));
        Assert.Equal("fdatasync", e.Operation);
        Assert.Equal(Errno.EINVAL, e.Errno);
    }
}
