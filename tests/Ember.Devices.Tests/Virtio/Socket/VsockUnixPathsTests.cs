using Ember.Devices.Virtio.Socket;
using Ember.Sys;

namespace Ember.Devices.Tests.Virtio.Socket;

public sealed class VsockUnixPathsTests
{
    [Fact]
    public void AGuestConnectionToPortPGoesToUdsPathUnderscoreP()
    {
        var paths = new VsockUnixPaths("/run/ember/v.sock");
        Assert.Equal("/run/ember/v.sock", paths.HostListenerPath);
        Assert.True(paths.TryGetGuestConnectionPath(52, out var path));
        Assert.Equal("/run/ember/v.sock_52", path);
        Assert.True(paths.TryGetGuestConnectionPath(uint.MaxValue, out path));
        Assert.Equal("/run/ember/v.sock_4294967295", path);
        Assert.True(paths.TryGetGuestConnectionPath(0, out path));
        Assert.Equal("/run/ember/v.sock_0", path);
    }

    [Fact]
    public void ARelativeUdsPathStaysRelative()
    {
        Assert.True(new VsockUnixPaths("./v.sock").TryGetGuestConnectionPath(52, out var path));
        Assert.Equal("./v.sock_52", path);
    }

    [Fact]
    public void APortWhosePathWouldNotFitASocketAddressIsRefused()
    {
        // 100 bytes: "_52" fits within 107, "_12345678" does not.
        var udsPath = "/" + new string('v', 99);
        var paths = new VsockUnixPaths(udsPath);
        Assert.True(paths.TryGetGuestConnectionPath(52, out _));
        Assert.False(paths.TryGetGuestConnectionPath(12345678, out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a\0b")]
    public void AUdsPathThatCannotNameASocketIsRefusedInOneLine(string udsPath)
    {
        var refused = Assert.Throws<ArgumentException>(() => new VsockUnixPaths(udsPath));
        Assert.StartsWith("vsock uds_path:", refused.Message);
        Assert.DoesNotContain('\n', refused.Message);
    }

    [Fact]
    public void AUdsPathLongerThanASocketAddressIsRefused()
    {
        var udsPath = "/" + new string('v', UnixSocketPath.MaxBytes);
        Assert.Contains("at most 107", VsockUnixPaths.Validate(udsPath));
        Assert.Null(VsockUnixPaths.Validate(udsPath[..UnixSocketPath.MaxBytes]));
    }
}
