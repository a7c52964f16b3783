using Ember.Devices.Virtio.Socket;

namespace Ember.Devices.Tests.Virtio.Socket;

public sealed class VsockPacketHeaderTests
{
    // struct virtio_vsock_hdr as a guest lays it out: every field distinct so a swapped or shifted field shows.
    private static readonly byte[] Wire =
    [
        0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // src_cid = 3
        0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // dst_cid = 2 (the host)
        0x00, 0x04, 0x00, 0x00,                         // src_port = 1024
        0x34, 0x00, 0x00, 0x00,                         // dst_port = 52
        0x10, 0x00, 0x00, 0x00,                         // len = 16
        0x01, 0x00,                                     // type = stream
        0x05, 0x00,                                     // op = rw
        0x03, 0x00, 0x00, 0x00,                         // flags = receive | send
        0x00, 0x00, 0x04, 0x00,                         // buf_alloc = 256 KiB
        0x78, 0x56, 0x34, 0x12,                         // fwd_cnt = 0x12345678
    ];

    [Fact]
    public void TheHeaderIs44Bytes() => Assert.Equal(44, Wire.Length);

    [Fact]
    public void FieldsDecodeLittleEndianAtTheirOffsets()
    {
        Assert.True(VsockPacketHeader.TryRead(Wire, out var header));
        Assert.Equal(3UL, header.SourceCid);
        Assert.Equal(VsockCid.Host, header.DestinationCid);
        Assert.Equal(1024u, header.SourcePort);
        Assert.Equal(52u, header.DestinationPort);
        Assert.Equal(16u, header.Length);
        Assert.Equal(VsockSocketType.Stream, header.Type);
        Assert.Equal(VsockOp.ReadWrite, header.Op);
        Assert.Equal((uint)(VsockShutdownFlags.Receive | VsockShutdownFlags.Send), header.Flags);
        Assert.Equal(256u * 1024, header.BufferAllocation);
        Assert.Equal(0x12345678u, header.ForwardCount);
    }

    [Fact]
    public void EncodingGivesBackTheSameBytes()
    {
        Assert.True(VsockPacketHeader.TryRead(Wire, out var header));
        var encoded = new byte[VsockPacketHeader.Size + 4];
        encoded.AsSpan(VsockPacketHeader.Size).Fill(0xEE);
        header.WriteTo(encoded);
        Assert.Equal(Wire, encoded[..VsockPacketHeader.Size]);
        Assert.All(encoded[VsockPacketHeader.Size..], b => Assert.Equal(0xEE, b));
    }

    [Fact]
    public void ExtremeValuesSurviveARoundTrip()
    {
        var header = new VsockPacketHeader
        {
            SourceCid = ulong.MaxValue,
            DestinationCid = 0x0123_4567_89AB_CDEF,
            SourcePort = uint.MaxValue,
            DestinationPort = 0x8000_0001,
            Length = uint.MaxValue,
            Type = (VsockSocketType)0xFFFF,
            Op = (VsockOp)0xBEEF,
            Flags = 0xFFFF_FFFF,
            BufferAllocation = 0,
            ForwardCount = 0xFFFF_FFFE,
        };
        var bytes = new byte[VsockPacketHeader.Size];
        header.WriteTo(bytes);
        Assert.True(VsockPacketHeader.TryRead(bytes, out var decoded));
        Assert.Equal(header, decoded);
    }

    [Fact]
    public void AShortBufferIsNotAHeader()
    {
        Assert.False(VsockPacketHeader.TryRead(Wire.AsSpan(0, VsockPacketHeader.Size - 1), out var header));
        Assert.Equal(default, header);
        Assert.Throws<ArgumentException>(() => new VsockPacketHeader().WriteTo(new byte[VsockPacketHeader.Size - 1]));
    }

    [Fact]
    public void OpsAndTypesHaveTheSpecsNumbers()
    {
        Assert.Equal(new ushort[] { 0, 1, 2, 3, 4, 5, 6, 7 },
            new[] { VsockOp.Invalid, VsockOp.Request, VsockOp.Response, VsockOp.Reset, VsockOp.Shutdown,
                VsockOp.ReadWrite, VsockOp.CreditUpdate, VsockOp.CreditRequest }.Select(op => (ushort)op));
        Assert.Equal(1, (ushort)VsockSocketType.Stream);
        Assert.Equal(2, (ushort)VsockSocketType.SeqPacket);
    }

    [Theory]
    [InlineData(0UL, false)]
    [InlineData(1UL, false)]
    [InlineData(2UL, false)]
    [InlineData(3UL, true)]
    [InlineData(0xFFFF_FFFEUL, true)]
    [InlineData(0xFFFF_FFFFUL, false)]
    [InlineData(0x1_0000_0003UL, false)]
    public void GuestCidsAre3UpToBelowAny(ulong cid, bool valid) => Assert.Equal(valid, VsockCid.IsValidGuest(cid));
}
