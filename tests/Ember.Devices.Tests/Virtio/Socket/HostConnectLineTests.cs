using System.Text;
using Ember.Devices.Virtio.Socket;

namespace Ember.Devices.Tests.Virtio.Socket;

public sealed class HostConnectLineTests
{
    private static ConnectLineStatus Parse(string text, out uint port, out int lineLength) =>
        HostConnectLine.Parse(Encoding.Latin1.GetBytes(text), out port, out lineLength);

    [Theory]
    [InlineData("CONNECT 52\n", 52u)]
    [InlineData("CONNECT 0\n", 0u)]
    [InlineData("CONNECT 4294967295\n", 4294967295u)]
    [InlineData("CONNECT   \t1024 \r\n", 1024u)]
    [InlineData("CONNECT 52\r\n", 52u)]
    [InlineData("CONNECT 0000000000052\n", 52u)]
    public void AWholeLineGivesItsPort(string line, uint expected)
    {
        Assert.Equal(ConnectLineStatus.Complete, Parse(line, out var port, out var length));
        Assert.Equal(expected, port);
        Assert.Equal(line.Length, length);
    }

    [Fact]
    public void BytesAfterTheLineAreLeftAsPayload()
    {
        Assert.Equal(ConnectLineStatus.Complete, Parse("CONNECT 52\nGET / HTTP/1.1\r\n", out var port, out var length));
        Assert.Equal(52u, port);
        Assert.Equal("CONNECT 52\n".Length, length);
    }

    [Theory]
    [InlineData("")]
    [InlineData("C")]
    [InlineData("CONNECT")]
    [InlineData("CONNECT ")]
    [InlineData("CONNECT 5")]
    [InlineData("CONNECT 52 ")]
    [InlineData("CONNECT 52\r")]
    public void AValidBeginningWaitsForMore(string prefix)
    {
        Assert.Equal(ConnectLineStatus.Incomplete, Parse(prefix, out var port, out var length));
        Assert.Equal(0u, port);
        Assert.Equal(0, length);
    }

    [Fact]
    public void EveryPrefixOfAValidLineIsIncompleteAndTheLineArrivingByteByByteCompletes()
    {
        const string line = "CONNECT 1234\n";
        for (int i = 0; i < line.Length; i++)
            Assert.Equal(ConnectLineStatus.Incomplete, Parse(line[..i], out _, out _));
        Assert.Equal(ConnectLineStatus.Complete, Parse(line, out var port, out _));
        Assert.Equal(1234u, port);
    }

    [Theory]
    [InlineData("connect 52\n")]       // the keyword is upper case
    [InlineData(" CONNECT 52\n")]      // nothing before it
    [InlineData("CONNECT52\n")]        // a separator is required
    [InlineData("CONNECT \n")]         // a port is required
    [InlineData("CONNECT -1\n")]
    [InlineData("CONNECT +52\n")]
    [InlineData("CONNECT 0x34\n")]
    [InlineData("CONNECT 5 2\n")]
    [InlineData("CONNECT 52 extra\n")]
    [InlineData("CONNECT 52\r2\n")]
    [InlineData("CONNECT 5\u00b2\n")]  // a superscript two is not a digit
    [InlineData("CONNECT 52\0\n")]
    [InlineData("\n")]
    [InlineData("GET / HTTP/1.1\r\n")]
    [InlineData("CONNECTED 52\n")]
    public void AnythingElseIsMalformed(string line) =>
        Assert.Equal(ConnectLineStatus.Malformed, Parse(line, out _, out _));

    [Theory]
    [InlineData("GET")]
    [InlineData("CONNECT x")]
    [InlineData("CONNECT 52 x")]
    public void GarbageIsRejectedAsSoonAsItIsSeen(string prefix) =>
        Assert.Equal(ConnectLineStatus.Malformed, Parse(prefix, out _, out _));

    [Theory]
    [InlineData("CONNECT 4294967296\n")]
    [InlineData("CONNECT 99999999999\n")]
    [InlineData("CONNECT 18446744073709551617")]
    public void APortBeyond32BitsIsOutOfRange(string line) =>
        Assert.Equal(ConnectLineStatus.PortOutOfRange, Parse(line, out _, out _));

    [Fact]
    public void NoNewlineWithinTheCapIsTooLong()
    {
        // Valid so far but endless blanks: the cap ends it.
        var line = "CONNECT 52" + new string(' ', HostConnectLine.MaxLength);
        Assert.Equal(ConnectLineStatus.Incomplete, Parse(line[..(HostConnectLine.MaxLength - 1)], out _, out _));
        Assert.Equal(ConnectLineStatus.TooLong, Parse(line[..HostConnectLine.MaxLength], out _, out _));
        Assert.Equal(ConnectLineStatus.TooLong, Parse(line + "\n", out _, out _));
        // Zeros as padding: still bounded.
        Assert.Equal(ConnectLineStatus.TooLong, Parse("CONNECT " + new string('0', 40) + "52\n", out _, out _));
    }

    [Fact]
    public void ALineEndingExactlyAtTheCapIsAccepted()
    {
        var line = "CONNECT " + new string('0', HostConnectLine.MaxLength - 11) + "52\n";
        Assert.Equal(HostConnectLine.MaxLength, line.Length);
        Assert.Equal(ConnectLineStatus.Complete, Parse(line, out var port, out var length));
        Assert.Equal(52u, port);
        Assert.Equal(HostConnectLine.MaxLength, length);
    }

    [Fact]
    public void AHugeInputIsOnlyReadUpToTheCap()
    {
        var huge = new byte[1 << 20];
        Encoding.ASCII.GetBytes("CONNECT 7").CopyTo(huge, 0);
        huge.AsSpan(9).Fill((byte)' ');
        Assert.Equal(ConnectLineStatus.TooLong, HostConnectLine.Parse(huge, out _, out _));
    }

    [Theory]
    [InlineData(0u, "OK 0\n")]
    [InlineData(1073741824u, "OK 1073741824\n")]
    [InlineData(uint.MaxValue, "OK 4294967295\n")]
    public void TheAcknowledgementNamesTheHostPort(uint hostPort, string expected)
    {
        var buffer = new byte[HostConnectLine.MaxAcknowledgementLength];
        int length = HostConnectLine.WriteAcknowledgement(hostPort, buffer);
        Assert.Equal(expected, Encoding.ASCII.GetString(buffer, 0, length));
    }

    [Fact]
    public void AnAcknowledgementBufferTooSmallIsRefused() =>
        Assert.Throws<ArgumentException>(() => HostConnectLine.WriteAcknowledgement(1, new byte[HostConnectLine.MaxAcknowledgementLength - 1]));
}
