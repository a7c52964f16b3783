using System.Text;
using CsCheck;
using Ember.Vmm.Debugging;

namespace Ember.Vmm.Tests.Debugging;

public sealed class GdbPacketFramerTests
{
    private static List<GdbInput> Feed(string wire, int maxPacketSize = 64)
    {
        var framer = new GdbPacketFramer(maxPacketSize);
        var found = new List<GdbInput>();
        framer.Feed(Encoding.Latin1.GetBytes(wire), found);
        return found;
    }

    /// <summary>A packet as GDB frames it: $payload#checksum, the checksum over the bytes as sent.</summary>
    private static string Framed(string raw)
    {
        byte sum = 0;
        foreach (char c in raw)
            sum += (byte)c;
        return $"${raw}#{sum:x2}";
    }

    private static string Payload(GdbInput input)
    {
        Assert.Equal(GdbInputKind.Packet, input.Kind);
        return Encoding.Latin1.GetString(input.Payload);
    }

    [Fact]
    public void APacketWithAGoodChecksumIsDeliveredAndControlBytesStandAlone()
    {
        var found = Feed("+$g#67-\x03");
        Assert.Equal([GdbInputKind.Ack, GdbInputKind.Packet, GdbInputKind.Nak, GdbInputKind.Interrupt], found.Select(f => f.Kind));
        Assert.Equal("g", Payload(found[1]));
    }

    [Theory]
    [InlineData("$g#68")]   // one off
    [InlineData("$g#6G")]   // not hex
    [InlineData("$g#zz")]
    public void ABadChecksumAsksForTheSamePacketAgain(string wire) =>
        Assert.Equal(GdbInputKind.BadChecksum, Assert.Single(Feed(wire)).Kind);

    [Fact]
    public void UppercaseChecksumDigitsAreAccepted() => Assert.Equal("OK", Payload(Assert.Single(Feed("$OK#9A"))));

    [Fact]
    public void EscapedBytesAreUnescaped()
    {
        // '}' then the byte XOR 0x20: }] is '}', }\x03 is '#', }\x04 is '$', }\x0a is '*'.
        var found = Feed(Framed("X0,4:}]}\x03}\x04}\x0a"));
        Assert.Equal("X0,4:}#$*", Payload(Assert.Single(found)));
    }

    [Theory]
    [InlineData("0* ", "0000")]        // ' ' is 32: three more
    [InlineData("ab*\"", "abbbbbb")]  // '"' is 34: five more
    public void RunLengthEncodingIsExpanded(string raw, string expected) =>
        Assert.Equal(expected, Payload(Assert.Single(Feed(Framed(raw), maxPacketSize: 256))));

    [Fact]
    public void TheLongestRunIsNinetySevenMore() =>
        Assert.Equal(new string('x', 98) + "y", Payload(Assert.Single(Feed(Framed("x*~y"), maxPacketSize: 256))));

    [Theory]
    [InlineData("*  ")]     // a run with nothing before it
    [InlineData("a*")]      // a run without a count
    [InlineData("a*\x1f")]  // a count below ' '
    [InlineData("abc}")]    // an escape with nothing after it
    public void BrokenEscapesAndRunsAreMalformed(string raw) =>
        Assert.Equal(GdbInputKind.Malformed, Assert.Single(Feed(Framed(raw))).Kind);

    [Fact]
    public void APacketOverTheCapIsConsumedToItsEndAndReportedOverlongAndTheNextOneIsFine()
    {
        var found = Feed(Framed(new string('a', 40)) + Framed("g"), maxPacketSize: 16);
        Assert.Equal(GdbInputKind.Overlong, found[0].Kind);
        Assert.Equal("g", Payload(found[1]));
    }

    [Fact]
    public void ARunThatWouldExpandPastTheCapIsOverlong() =>
        Assert.Equal(GdbInputKind.Overlong, Assert.Single(Feed(Framed("ab*~"), maxPacketSize: 32)).Kind);

    [Fact]
    public void PacketsSplitAcrossReadsAndAStrayDollarRestartingAPacketAreHandled()
    {
        var framer = new GdbPacketFramer(64);
        var found = new List<GdbInput>();
        foreach (byte b in Encoding.Latin1.GetBytes("noise$qC$" + Framed("m10,4")[1..]))
            framer.Feed([b], found);
        Assert.Equal("m10,4", Payload(Assert.Single(found)));
    }

    [Fact]
    public void ResetForgetsAHalfReceivedPacket()
    {
        var framer = new GdbPacketFramer(64);
        var found = new List<GdbInput>();
        framer.Feed("$m10,"u8, found);
        framer.Reset();
        framer.Feed(Encoding.Latin1.GetBytes(Framed("g")), found);
        Assert.Equal("g", Payload(Assert.Single(found)));
    }

    [Fact]
    public void AnyByteStreamIsFramedWithoutThrowingAndNoPayloadExceedsTheCap()
    {
        var interesting = Gen.OneOf(Gen.Const((byte)'$'), Gen.Const((byte)'#'), Gen.Const((byte)'}'), Gen.Const((byte)'*'), Gen.Const((byte)'0'), Gen.Byte);
        interesting.Array[0, 400].Sample(bytes =>
        {
            var framer = new GdbPacketFramer(32);
            var found = new List<GdbInput>();
            framer.Feed(bytes, found);
            Assert.All(found, f => Assert.True(f.Payload.Length <= 32));
        });
    }
}
