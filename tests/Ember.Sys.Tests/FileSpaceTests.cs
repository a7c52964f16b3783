using System.Diagnostics;

namespace Ember.Sys.Tests;

/// <summary>fallocate through <see cref="FileSpace"/> on real files in the temp directory, and fstat's st_blocks checked against stat(1).</summary>
public sealed class FileSpaceTests : IDisposable
{
    private const int Length = 1 << 20;
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"ember-filespace-{Guid.NewGuid():N}");

    public FileSpaceTests()
    {
        File.WriteAllBytes(_path, Enumerable.Repeat((byte)0xA5, Length).ToArray());
    }

    public void Dispose() => File.Delete(_path);

    private static long StatBlocks(string path)
    {
        using var stat = Process.Start(new ProcessStartInfo("stat", ["--format=%b", path]) { RedirectStandardOutput = true })!;
        string output = stat.StandardOutput.ReadToEnd();
        stat.WaitForExit();
        return long.Parse(output.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void AllocatedBytesIsStBlocksTimes512()
    {
        using var file = File.OpenHandle(_path, FileMode.Open, FileAccess.ReadWrite);
        RandomAccess.FlushToDisk(file);

        Assert.Equal(StatBlocks(_path) * 512, FileSpace.AllocatedBytes(file));
        Assert.True(FileSpace.AllocatedBytes(file) >= Length);
    }

    [Fact]
    public void APunchedHoleReadsZeroKeepsTheLengthAndFreesTheBlocks()
    {
        using var file = File.OpenHandle(_path, FileMode.Open, FileAccess.ReadWrite);
        RandomAccess.FlushToDisk(file);
        long before = FileSpace.AllocatedBytes(file);

        Assert.SkipUnless(FileSpace.TryPunchHole(file, 64 * 1024, 512 * 1024), "the temp directory's file system cannot punch holes");

        var bytes = File.ReadAllBytes(_path);
        Assert.Equal(Length, bytes.Length);
        Assert.All(bytes[(64 * 1024)..(576 * 1024)], b => Assert.Equal(0, b));
        Assert.All(bytes[..(64 * 1024)], b => Assert.Equal(0xA5, b));
        Assert.All(bytes[(576 * 1024)..], b => Assert.Equal(0xA5, b));
        Assert.True(before - FileSpace.AllocatedBytes(file) >= 512 * 1024);
    }

    [Fact]
    public void AZeroedRangeReadsZeroAndKeepsTheLength()
    {
        using var file = File.OpenHandle(_path, FileMode.Open, FileAccess.ReadWrite);

        Assert.SkipUnless(FileSpace.TryZeroRange(file, 100, 1000), "the temp directory's file system cannot zero ranges");

        var bytes = File.ReadAllBytes(_path);
        Assert.Equal(Length, bytes.Length);
        Assert.All(bytes[100..1100], b => Assert.Equal(0, b));
        Assert.Equal(0xA5, bytes[99]);
        Assert.Equal(0xA5, bytes[1100]);
    }

    [Fact]
    public void AReadOnlyHandleIsASystemCallErrorNotUnsupported()
    {
        using var file = File.OpenHandle(_path, FileMode.Open, FileAccess.Read);

        var error = Assert.Throws<SystemCallException>(() => FileSpace.TryPunchHole(file, 0, 4096));
        Assert.Equal("fallocate", error.Operation);
        Assert.Equal(Errno.EBADF, error.Errno);
    }

    [Theory]
    [InlineData(-1L, 10L)]
    [InlineData(0L, 0L)]
    [InlineData(0L, -5L)]
    public void NegativeOrEmptyRangesAreRefused(long offset, long length)
    {
        using var file = File.OpenHandle(_path, FileMode.Open, FileAccess.ReadWrite);

        Assert.Throws<ArgumentOutOfRangeException>(() => FileSpace.TryZeroRange(file, offset, length));
    }
}
