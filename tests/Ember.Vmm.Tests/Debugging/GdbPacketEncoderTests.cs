using System.Text;
using Ember.Vmm.Debugging;

namespace Ember.Vmm.Tests.Debugging;

public sealed class GdbPacketEncoderTests
{
    [Theory]
    [InlineData("OK", "$OK#9a")]
    [InlineData("", "$#00")]
    [InlineData("T05thread:01;", "$T05thread:01;#07")]
    public void APayloadIsFramedWithItsChecksum(string payload, string wire) =>
        Assert.Equal(wire, Encoding.ASCII.GetString(GdbPacketEncoder.Frame(payload)));

    [Fact]
    public void TheFourSpecialBytesAreEscapedAndTheChecksumCoversWhatIsSent()
    {
        string wire = Encoding.Latin1.GetString(GdbPacketEncoder.Frame("a$#}*b"u8));
        Assert.Equal("$a}\u0004}\u0003}]}\u000ab#", wire[..^2]);
        byte sum = 0;
        foreach (char c in wire[1..^3])
            sum += (byte)c;
        Assert.Equal($"{sum:x2}", wire[^2..]);
    }

    [Fact]
    public void WhatTheEncoderFramesTheFramerReadsBackByteForByte()
    {
        var payload = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var framer = new GdbPacketFramer(1024);
        var found = new List<GdbInput>();
        framer.Feed(GdbPacketEncoder.Frame(payload), found);
        var packet = Assert.Single(found);
        Assert.Equal(GdbInputKind.Packet, packet.Kind);
        Assert.Equal(payload, packet.Payload);
    }
}
