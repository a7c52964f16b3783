using System.Net;
using Ember.Vmm.Debugging;

namespace Ember.Vmm.Tests.Debugging;

public sealed class GdbEndpointTests
{
    [Theory]
    [InlineData("tcp:127.0.0.1:1234", "tcp:127.0.0.1:1234")]
    [InlineData("tcp:localhost:0", "tcp:127.0.0.1:0")]
    [InlineData("tcp:[::1]:9000", "tcp:[::1]:9000")]
    [InlineData("unix:/tmp/ember-gdb.sock", "unix:/tmp/ember-gdb.sock")]
    public void TheTwoFormsParseAndPrintBack(string text, string printed)
    {
        Assert.True(GdbEndpoint.TryParse(text, out var endpoint, out _));
        Assert.Equal(printed, endpoint.ToString());
    }

    [Theory]
    [InlineData("1234", "must be tcp:HOST:PORT or unix:PATH")]
    [InlineData("tcp:1234", "needs a host and a port")]
    [InlineData("tcp:example.org:1234", "is not an IP address")]
    [InlineData("tcp:127.0.0.1:65536", "the port must be a number from 0 to 65535")]
    [InlineData("tcp:127.0.0.1:-1", "the port must be a number")]
    [InlineData("unix:", "needs a socket path")]
    public void AnythingElseIsRefusedInOneLine(string text, string reason)
    {
        Assert.False(GdbEndpoint.TryParse(text, out _, out string? error));
        Assert.Contains(reason, error);
        Assert.DoesNotContain('\n', error);
    }

    [Fact]
    public void TcpKeepsTheAddressAndPort()
    {
        Assert.True(GdbEndpoint.TryParse("tcp:10.0.0.2:1234", out var endpoint, out _));
        Assert.Equal(GdbTransport.Tcp, endpoint.Transport);
        Assert.Equal(IPAddress.Parse("10.0.0.2"), endpoint.Host);
        Assert.Equal(1234, endpoint.Port);
    }
}
