using System.Runtime.Versioning;
using Ember.Vmm.Images;

namespace Ember.Vmm.Tests.Images;

[SupportedOSPlatform("linux")]
public sealed class GuestImageCacheTests
{
    [Fact]
    public void TheCacheFollowsXdgCacheHomeThenHome()
    {
        Assert.Equal("/x/cache/ember", GuestImageCache.DefaultDirectory("/x/cache", "/home/u"));
        Assert.Equal("/home/u/.cache/ember", GuestImageCache.DefaultDirectory(null, "/home/u"));
        Assert.Equal("/home/u/.cache/ember", GuestImageCache.DefaultDirectory("", "/home/u"));
        Assert.Equal("/home/u/.cache/ember", GuestImageCache.DefaultDirectory("relative/cache", "/home/u")); // XDG: relative values are ignored.
        Assert.Throws<GuestImageException>(() => GuestImageCache.DefaultDirectory(null, null));
    }

    [Fact]
    public void ImageNamesCarryTheReleaseSafelyAndAKeyPrefix()
    {
        var key = new string('a', 64);
        Assert.Equal("/c/initramfs-6.1.0-56-cloud-amd64-aaaaaaaaaaaaaaaa.cpio", GuestImageCache.ImagePath("/c", "6.1.0-56-cloud-amd64", key));
        Assert.Equal("/c/initramfs-.._x_y-aaaaaaaaaaaaaaaa.cpio", GuestImageCache.ImagePath("/c", "../x y", key));
        Assert.Equal("/c/initramfs-unknown-aaaaaaaaaaaaaaaa.cpio", GuestImageCache.ImagePath("/c", null, key));
    }

    [Fact]
    public void OnlyAFinishedArchiveCountsAsComplete()
    {
        using var temp = new TempDirectory();
        var path = temp.Combine("image.cpio");
        Assert.False(GuestImageCache.IsComplete(path));
        Assert.False(GuestImageCache.IsComplete(temp.Combine("no", "such", "dir.cpio")));

        using (var file = File.Create(path))
        using (var writer = new NewcArchiveWriter(file))
        {
            writer.AddFile("init", "#!/bin/sh\n"u8);
            writer.Finish();
        }
        Assert.True(GuestImageCache.IsComplete(path));

        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^4]);
        Assert.False(GuestImageCache.IsComplete(path));
        File.WriteAllBytes(path, bytes[..^1]);
        Assert.False(GuestImageCache.IsComplete(path));
        File.WriteAllBytes(path, [.. bytes, 0, 0, 0, 0]);
        Assert.False(GuestImageCache.IsComplete(path));
        File.WriteAllBytes(path, []);
        Assert.False(GuestImageCache.IsComplete(path));
    }

    [Fact]
    public void AFailedWriteLeavesTheOldFileAndNoLitter()
    {
        using var temp = new TempDirectory();
        var path = temp.Combine("cache", "image.cpio");
        GuestImageCache.WriteAtomically(path, s => s.Write("old"u8));

        Assert.Throws<IOException>(() => GuestImageCache.WriteAtomically(path, s =>
        {
            s.Write("half of the new"u8);
            throw new IOException("disk full");
        }));

        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(temp.Combine("cache")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(temp.Combine("cache")));
    }

    [Fact]
    public void ASuccessfulWriteReplacesTheFile()
    {
        using var temp = new TempDirectory();
        var path = temp.Combine("image.cpio");
        GuestImageCache.WriteAtomically(path, s => s.Write("old"u8));
        GuestImageCache.WriteAtomically(path, s => s.Write("new"u8));

        Assert.Equal("new", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(temp.Path));
    }
}
