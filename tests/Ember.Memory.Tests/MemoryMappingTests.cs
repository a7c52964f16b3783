using Ember.Sys;
using Ember.Memory.Interop;

namespace Ember.Memory.Tests;

public sealed class MemoryMappingTests
{
    /// <summary>EACCES from errno-base.h: mmap of a read-only fd with PROT_WRITE | MAP_SHARED.</summary>

    [Fact]
    public void AnonymousMappingIsZeroFilledAndWritable()
    {
        using var mapping = MemoryMapping.Anonymous(0x3000, noReserve: false);
        Assert.Equal(0x3000UL, mapping.Length);
        Assert.NotEqual(0, mapping.Pointer);

        var span = mapping.GetSpan(0x2FF0, 0x10);
        Assert.All(span.ToArray(), b => Assert.Equal(0, b));
        span.Fill(0x7E);
        Assert.Equal(0x7E, mapping.GetSpan(0x2FFF, 1)[0]);
    }

    [Fact]
    public void GetSpanOutsideTheMappingThrows()
    {
        using var mapping = MemoryMapping.Anonymous(0x1000, noReserve: true);
        Assert.Throws<ArgumentOutOfRangeException>(() => mapping.GetSpan(0xFF8, 9));
        Assert.Throws<ArgumentOutOfRangeException>(() => mapping.GetSpan(0x1001, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => mapping.GetSpan(ulong.MaxValue, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => mapping.GetSpan(0, -1));
        Assert.Equal(0, mapping.GetSpan(0x1000, 0).Length);
    }

    [Fact]
    public void ZeroLengthIsRejectedBeforeCallingMmap()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MemoryMapping.Anonymous(0, noReserve: true));
    }

    [Fact]
    public void DisposeUnmapsAndPointerThenThrows()
    {
        var mapping = MemoryMapping.Anonymous(0x1000, noReserve: true);
        mapping.Dispose();
        Assert.True(mapping.IsClosed);
        Assert.Throws<ObjectDisposedException>(() => mapping.Pointer);
        Assert.Throws<ObjectDisposedException>(() => mapping.GetSpan(0, 1));
    }

    [Fact]
    public void MapFileSeesTheFileContents()
    {
        string path = Path.GetTempFileName();
        try
        {
            var contents = new byte[0x2000];
            contents[0x1000] = 0x42;
            contents[0x1FFF] = 0x43;
            File.WriteAllBytes(path, contents);
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);

            // Offset must be page-aligned (mmap(2)); map the second page only.
            using var mapping = MemoryMapping.MapFile(file, 0x1000, MemoryProtection.Read, MappingFlags.Shared, offset: 0x1000);
            var span = mapping.GetSpan(0, 0x1000);
            Assert.Equal(0x42, span[0]);
            Assert.Equal(0x43, span[0xFFF]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void MapFileFailureCarriesErrno()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, new byte[0x1000]);
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);

            var error = Assert.Throws<NativeMemoryException>(
                () => MemoryMapping.MapFile(file, 0x1000, MemoryProtection.ReadWrite, MappingFlags.Shared, offset: 0));
            Assert.Equal(Errno.EACCES, error.Errno);
            Assert.Equal("mmap", error.Operation);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void MapFileRejectsClosedFd()
    {
        string path = Path.GetTempFileName();
        try
        {
            var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
            file.Dispose();
            Assert.Throws<ObjectDisposedException>(
                () => MemoryMapping.MapFile(file, 0x1000, MemoryProtection.Read, MappingFlags.Shared, offset: 0));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
