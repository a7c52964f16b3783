using System.Text;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Socket;

namespace Ember.Devices.Tests.Virtio.Socket;

/// <summary>
/// virtio-vsock (virtio 1.2 §5.10) against hand-built rings and an in-memory backend: Firecracker's handshake both
/// ways, credit in both directions, resets, shutdowns, and every cap on what a guest or a host program can make it hold.
/// </summary>
public sealed class VirtioVsockTests
{
    private const uint GuestPort = 1234;
    private const uint GuestEphemeralPort = 49152;
    private const uint HostServicePort = 52;

    private readonly VsockTestGuest _guest = new();
    private readonly FakeVsockBackend _backend = new();
    private readonly VirtioVsock _device;

    public VirtioVsockTests() => _device = new VirtioVsock(VsockTestGuest.Cid, _backend);

    private static string Ascii(byte[] bytes) => Encoding.ASCII.GetString(bytes);

    private static byte[] Pattern(int length, int seed = 0) => [.. Enumerable.Range(seed, length).Select(i => (byte)(i * 7 + (i >> 8)))];

    private void Start(int receiveBuffers = 8, ulong features = VirtqueueTestDriver.AllFeatures)
    {
        _guest.PostReceiveBuffers(receiveBuffers);
        _guest.Activate(_device, features);
    }

    /// <summary>A host program connects with CONNECT, the guest accepts; returns its stream and the host port it got.</summary>
    private (FakeHostStream Stream, uint HostPort) ConnectFromHost(uint guestBufferAllocation = 256 * 1024, uint guestPort = GuestPort)
    {
        var stream = _backend.HostConnects();
        stream.HostSends(Encoding.ASCII.GetBytes($"CONNECT {guestPort}\n"));
        Assert.True(stream.Raise());
        var request = Assert.Single(_guest.TakeReceived());
        Assert.Equal(VsockOp.Request, request.Op);
        uint hostPort = request.Header.SourcePort;
        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.Response, guestPort, hostPort, guestBufferAllocation));
        Assert.Equal($"OK {hostPort}\n", Ascii(stream.TakeWritten()));
        return (stream, hostPort);
    }

    /// <summary>The guest connects to a host port that has a listener; returns the host end.</summary>
    private FakeHostStream ConnectFromGuest(uint guestBufferAllocation = 256 * 1024)
    {
        _backend.Listening.Add(HostServicePort);
        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.Request, GuestEphemeralPort, HostServicePort, guestBufferAllocation));
        var response = Assert.Single(_guest.TakeReceived());
        Assert.Equal(VsockOp.Response, response.Op);
        return _backend.Connected[HostServicePort];
    }

    private void AssertReset(ReceivedPacket packet, uint fromPort, uint toPort, ulong fromCid = VsockCid.Host)
    {
        Assert.Equal(VsockOp.Reset, packet.Op);
        Assert.Equal(fromCid, packet.Header.SourceCid);
        Assert.Equal(VsockTestGuest.Cid, packet.Header.DestinationCid);
        Assert.Equal(fromPort, packet.Header.SourcePort);
        Assert.Equal(toPort, packet.Header.DestinationPort);
    }

    [Fact]
    public void DescribesItselfAsASocketDeviceWithTheGuestCid()
    {
        var device = new VirtioVsock(0x1_2345_6789 & 0xFFFF_FFFF, new FakeVsockBackend());
        Assert.Equal(VirtioDeviceType.Socket, device.Type);
        Assert.Equal(3, device.QueueCount);
        Assert.Equal(8, device.ConfigurationLength);
        Assert.NotEqual(0UL, device.OfferedFeatures & VirtioFeature.Version1);

        var configuration = new byte[8];
        device.ReadConfiguration(0, configuration);
        Assert.Equal(0x2345_6789UL, BitConverter.ToUInt64(configuration));
        device.WriteConfiguration(0, new byte[8]);
        var upper = new byte[4];
        device.ReadConfiguration(4, upper);
        Assert.Equal(new byte[4], upper);
        device.ReadConfiguration(0, configuration);
        Assert.Equal(0x2345_6789UL, BitConverter.ToUInt64(configuration));

        Assert.Same(_device, _backend.Events);
        Assert.Throws<ArgumentOutOfRangeException>(() => new VirtioVsock(2, new FakeVsockBackend()));
        Assert.Throws<ArgumentOutOfRangeException>(() => new VirtioVsock(VsockCid.Any, new FakeVsockBackend()));
    }

    [Theory]
    [InlineData(VirtqueueTestDriver.AllFeatures)]
    [InlineData(VirtioFeature.Version1)]
    public void AHostProgramReachesAGuestPortThroughConnectAndOk(ulong features)
    {
        Start(features: features);
        var stream = _backend.HostConnects();
        Assert.True(stream.Started);
        Assert.Equal(VsockStreamEvents.Readable, stream.Requested);

        stream.HostSends("CONNECT 1234\n"u8);
        Assert.True(stream.Raise());
        var request = Assert.Single(_guest.TakeReceived()).Header;
        Assert.Equal(VsockOp.Request, request.Op);
        Assert.Equal(VsockCid.Host, request.SourceCid);
        Assert.Equal(VsockTestGuest.Cid, request.DestinationCid);
        Assert.True(request.SourcePort >= VsockLimits.FirstEphemeralPort);
        Assert.Equal(GuestPort, request.DestinationPort);
        Assert.Equal(VsockSocketType.Stream, request.Type);
        Assert.Equal(VsockLimits.BufferAllocation, request.BufferAllocation);
        Assert.Contains(VirtioVsock.ReceiveQueue, _guest.Interrupt.QueueSignals);
        Assert.Equal(VsockConnectionState.AwaitingResponse, _device.FindConnection(request.SourcePort, GuestPort));
        // Nothing is read from the program until the guest has accepted.
        Assert.Equal(VsockStreamEvents.None, stream.Requested);
        Assert.Empty(stream.Written);

        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.Response, GuestPort, request.SourcePort));
        Assert.Equal($"OK {request.SourcePort}\n", Ascii(stream.TakeWritten()));
        Assert.Equal(VsockConnectionState.Established, _device.FindConnection(request.SourcePort, GuestPort));
        Assert.Equal(VsockStreamEvents.Readable, stream.Requested);

        stream.HostSends("ping"u8);
        Assert.True(stream.Raise());
        var data = Assert.Single(_guest.TakeReceived());
        Assert.Equal(VsockOp.ReadWrite, data.Op);
        Assert.Equal((request.SourcePort, GuestPort), (data.Header.SourcePort, data.Header.DestinationPort));
        Assert.Equal("ping", Ascii(data.Payload));

        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.ReadWrite, GuestPort, request.SourcePort), "pong"u8);
        Assert.Equal("pong", Ascii(stream.TakeWritten()));
    }

    [Fact]
    public void BytesAfterTheConnectLineReachTheGuestBeforeAnythingElse()
    {
        Start();
        var stream = _backend.HostConnects();
        stream.HostSends("CONNECT 1234\nearly"u8);
        Assert.True(stream.Raise());
        uint hostPort = Assert.Single(_guest.TakeReceived()).Header.SourcePort;
        stream.HostSends(" and late"u8);

        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.Response, GuestPort, hostPort));
        Assert.Equal("early", Ascii(Assert.Single(_guest.TakeReceived()).Payload));
        Assert.True(stream.Raise());
        Assert.Equal(" and late", Ascii(Assert.Single(_guest.TakeReceived()).Payload));
    }

    [Fact]
    public void EachHostConnectionGetsAHostPortOfItsOwn()
    {
        Start();
        var (_, first) = ConnectFromHost();
        var (_, second) = ConnectFromHost();
        Assert.NotEqual(first, second);
        Assert.Equal(2, _device.ConnectionCount);
    }

    [Theory]
    [InlineData("CONNECT x\n")]
    [InlineData("HELLO 1234\n")]
    [InlineData("CONNECT 4294967296\n")]
    [InlineData("CONNECT 000000000000000000000000000000001234")]
    public void ABadConnectLineClosesTheProgramsConnectionWithoutTroublingTheGuest(string line)
    {
        Start();
        var stream = _backend.HostConnects();
        stream.HostSends(Encoding.ASCII.GetBytes(line));
        stream.Raise();
        Assert.True(stream.Disposed);
        Assert.Empty(stream.Written);
        Assert.Empty(_guest.TakeReceived());
        Assert.Equal(0, _device.ConnectionCount);
    }

    [Fact]
    public void AProgramThatLeavesBeforeItsLineIsForgotten()
    {
        Start();
        var stream = _backend.HostConnects();
        stream.HostSends("CONN"u8);
        Assert.True(stream.Raise());
        Assert.False(stream.Disposed);
        stream.EndOfStream = true;
        Assert.True(stream.Raise());
        Assert.True(stream.Disposed);
        Assert.Equal(0, _device.ConnectionCount);
    }

    [Fact]
    public void HostConnectionsBeforeTheDriverIsReadyAreClosed()
    {
        var stream = _backend.HostConnects();
        Assert.True(stream.Disposed);
        Assert.False(stream.Started);
        Assert.Equal(1, _device.RefusedConnections);
    }

    [Fact]
    public void AGuestConnectionReachesTheHostListenerForItsPort()
    {
        Start();
        var stream = ConnectFromGuest();
        Assert.True(stream.Started);
        Assert.Equal(VsockConnectionState.Established, _device.FindConnection(HostServicePort, GuestEphemeralPort));

        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.ReadWrite, GuestEphemeralPort, HostServicePort), "hello host"u8);
        Assert.Equal("hello host", Ascii(stream.TakeWritten()));
        stream.HostSends("hello guest"u8);
        Assert.True(stream.Raise());
        var reply = Assert.Single(_guest.TakeReceived());
        Assert.Equal((HostServicePort, GuestEphemeralPort), (reply.Header.SourcePort, reply.Header.DestinationPort));
        Assert.Equal("hello guest", Ascii(reply.Payload));
    }

    [Fact]
    public void AGuestConnectionToAPortNobodyServesIsReset()
    {
        Start();
        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.Request, GuestEphemeralPort, 53));
        AssertReset(Assert.Single(_guest.TakeReceived()), 53, GuestEphemeralPort);
        Assert.Equal(0, _device.ConnectionCount);
    }

    [Fact]
    public void TheDeviceStopsWhenTheGuestsCreditIsSpentAndGoesOnAfterACreditUpdate()
    {
        Start();
        var (stream, hostPort) = ConnectFromHost(guestBufferAllocation: 1000);
        var sent = Pattern(2500);
        stream.HostSends(sent);
        Assert.True(stream.Raise());

        var first = _guest.TakeReceived();
        Assert.Equal(1000, first.Where(p => p.Op == VsockOp.ReadWrite).Sum(p => p.Payload.Length));
        Assert.Equal(VsockOp.CreditRequest, first[^1].Op);
        Assert.Equal(1500, stream.Pending);
        // Credit spent: the device no longer asks to read, and more receive buffers change nothing.
        Assert.Equal(VsockStreamEvents.None, stream.Requested & VsockStreamEvents.Readable);
        Assert.False(stream.Raise());
        _guest.PostReceiveBuffers(4);
        _device.Notify(VirtioVsock.ReceiveQueue);
        Assert.Empty(_guest.TakeReceived());

        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.CreditUpdate, GuestPort, hostPort, 1000, forwardCount: 1000));
        var second = _guest.TakeReceived();
        Assert.Equal(1000, second.Where(p => p.Op == VsockOp.ReadWrite).Sum(p => p.Payload.Length));

        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.CreditUpdate, GuestPort, hostPort, 1000, forwardCount: 2000));
        var third = _guest.TakeReceived();
        Assert.Equal(sent, first.Concat(second).Concat(third).Where(p => p.Op == VsockOp.ReadWrite).SelectMany(p => p.Payload).ToArray());
        Assert.Equal(0, stream.Pending);
    }

    [Fact]
    public void AGuestClaimingToHaveConsumedMoreThanItWasSentGetsNoCredit()
    {
        Start();
        var (stream, hostPort) = ConnectFromHost(guestBufferAllocation: 1000);
        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.CreditUpdate, GuestPort, hostPort, 1000, forwardCount: 500));
        stream.HostSends(Pattern(100));
        Assert.False(stream.Raise());
        Assert.DoesNotContain(_guest.TakeReceived(), p => p.Op == VsockOp.ReadWrite);
    }

    [Fact]
    public void WithoutReceiveBuffersTheHostStreamIsNotRead()
    {
        Start(receiveBuffers: 1);
        var stream = _backend.HostConnects();
        stream.HostSends("CONNECT 1234\n"u8);
        stream.Raise();
        uint hostPort = Assert.Single(_guest.TakeReceived(repost: false)).Header.SourcePort;
        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.Response, GuestPort, hostPort));
        stream.TakeWritten();

        stream.HostSends(Pattern(100));
        Assert.True(stream.Raise());
        int readsBefore = stream.ReadCalls;
        Assert.Equal(100, stream.Pending);
        // Known readable and nowhere to put it: the device waits for buffers, not for the stream.
        Assert.False(stream.Raise());

        _guest.PostReceiveBuffers(1);
        _device.Notify(VirtioVsock.ReceiveQueue);
        Assert.Equal(Pattern(100), Assert.Single(_guest.TakeReceived()).Payload);
        Assert.True(stream.ReadCalls > readsBefore);
    }

    [Fact]
    public void ForASocketThatIsNotReadingTheDeviceHoldsNoMoreThanTheCreditItGave()
    {
        Start();
        var (stream, hostPort) = ConnectFromHost();
        stream.WriteRoom = 0;
        var chunk = Pattern(4096);
        for (int i = 0; i < VsockLimits.BufferAllocation / chunk.Length; i++)
            _guest.Send(_device, VsockTestGuest.Packet(VsockOp.ReadWrite, GuestPort, hostPort), chunk);
        Assert.Equal(VsockConnectionState.Established, _device.FindConnection(hostPort, GuestPort));
        Assert.Equal(VsockStreamEvents.Writable, stream.Requested & VsockStreamEvents.Writable);
        Assert.Empty(_guest.TakeReceived());

        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.ReadWrite, GuestPort, hostPort), [1]);
        AssertReset(Assert.Single(_guest.TakeReceived()), hostPort, GuestPort);
        Assert.True(stream.Disposed);
        Assert.Null(_device.FindConnection(hostPort, GuestPort));
    }

    [Fact]
    public void BufferedBytesReachTheHostInOrderOnceItReads()
    {
        Start();
        var (stream, hostPort) = ConnectFromHost();
        stream.WriteRoom = 1000;
        var sent = Pattern(3 * 4096);
        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.ReadWrite, GuestPort, hostPort), sent.AsSpan(0, 4096));
        // Room again, but bytes are waiting: later packets queue behind them instead of overtaking.
        stream.WriteRoom = 500;
        for (int i = 1; i < 3; i++)
            _guest.Send(_device, VsockTestGuest.Packet(VsockOp.ReadWrite, GuestPort, hostPort), sent.AsSpan(i * 4096, 4096));
        Assert.Equal(sent.AsSpan(0, 1000).ToArray(), stream.Written);

        stream.WriteRoom = int.MaxValue;
        Assert.True(stream.Raise());
        Assert.Equal(sent, stream.Written);
        Assert.Equal(VsockStreamEvents.None, stream.Requested & VsockStreamEvents.Writable);
    }

    [Fact]
    public void TheGuestHearsOfFreedSpaceOnceHalfTheBufferWasForwarded()
    {
        Start();
        var (_, hostPort) = ConnectFromHost();
        var chunk = Pattern(4096);
        int packets = (int)(VsockLimits.CreditUpdateThreshold / chunk.Length) + 1;
        for (int i = 0; i < packets; i++)
            _guest.Send(_device, VsockTestGuest.Packet(VsockOp.ReadWrite, GuestPort, hostPort), chunk);
        var update = Assert.Single(_guest.TakeReceived());
        Assert.Equal(VsockOp.CreditUpdate, update.Op);
        Assert.Equal(VsockLimits.CreditUpdateThreshold, update.Header.ForwardCount);
        Assert.Equal(VsockLimits.BufferAllocation, update.Header.BufferAllocation);
    }

    [Fact]
    public void ACreditRequestIsAnsweredWithTheDevicesCredit()
    {
        Start();
        var (_, hostPort) = ConnectFromHost();
        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.ReadWrite, GuestPort, hostPort), Pattern(300));
        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.CreditRequest, GuestPort, hostPort));
        var update = Assert.Single(_guest.TakeReceived());
        Assert.Equal(VsockOp.CreditUpdate, update.Op);
        Assert.Equal(300u, update.Header.ForwardCount);
        Assert.Equal(VsockLimits.BufferAllocation, update.Header.BufferAllocation);
    }

    [Theory]
    [InlineData(VsockOp.ReadWrite)]
    [InlineData(VsockOp.Response)]
    [InlineData(VsockOp.Shutdown)]
    [InlineData(VsockOp.CreditUpdate)]
    [InlineData(VsockOp.CreditRequest)]
    public void APacketForNoConnectionIsReset(VsockOp op)
    {
        Start();
        _guest.Send(_device, VsockTestGuest.Packet(op, 7000, 8000));
        AssertReset(Assert.Single(_guest.TakeReceived()), 8000, 7000);
    }

    [Fact]
    public void AResetForNoConnectionIsNotAnswered()
    {
        Start();
        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.Reset, 7000, 8000));
        Assert.Empty(_guest.TakeReceived());
    }

    [Fact]
    public void AGuestResetEndsTheConnectionSilently()
    {
        Start();
        var (stream, hostPort) = ConnectFromHost();
        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.Reset, GuestPort, hostPort));
        Assert.True(stream.Disposed);
        Assert.Empty(_guest.TakeReceived());
        Assert.Equal(0, _device.ConnectionCount);
    }

    [Fact]
    public void APacketLongerThanTheCapIsDroppedAndItsConnectionReset()
    {
        Start();
        var (stream, hostPort) = ConnectFromHost();
        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.ReadWrite, GuestPort, hostPort), Pattern(VsockLimits.MaxPacketPayload + 1));
        Assert.Equal(1, _device.DroppedPackets);
        AssertReset(Assert.Single(_guest.TakeReceived()), hostPort, GuestPort);
        Assert.True(stream.Disposed);
        Assert.Empty(stream.Written);
    }

    [Fact]
    public void APacketWhoseLenIsMoreThanItsBuffersHoldIsDropped()
    {
        Start();
        var (stream, hostPort) = ConnectFromHost();
        var header = VsockTestGuest.Packet(VsockOp.ReadWrite, GuestPort, hostPort);
        header.Length = 100;
        _guest.Send(_device, header, Pattern(10));
        Assert.Equal(1, _device.DroppedPackets);
        AssertReset(Assert.Single(_guest.TakeReceived()), hostPort, GuestPort);
        Assert.Empty(stream.Written);
    }

    [Fact]
    public void AHeaderShorterThan44BytesIsDroppedAndItsBufferReturned()
    {
        Start();
        _guest.SendRaw(_device, new byte[20]);
        Assert.Equal(1, _device.DroppedPackets);
        Assert.Equal(1, _guest.Transmit.UsedIndex);
        Assert.Empty(_guest.TakeReceived());
    }

    [Fact]
    public void APacketFromAnotherCidIsDroppedUnanswered()
    {
        Start();
        _backend.Listening.Add(HostServicePort);
        var forged = VsockTestGuest.Packet(VsockOp.Request, GuestEphemeralPort, HostServicePort);
        forged.SourceCid = 4;
        _guest.Send(_device, forged);
        Assert.Equal(1, _device.DroppedPackets);
        Assert.Empty(_guest.TakeReceived());
        Assert.Empty(_backend.Connected);
    }

    [Theory]
    [InlineData(5UL)]
    [InlineData(VsockTestGuest.Cid)]
    [InlineData(0x1_0000_0002UL)]
    public void APacketForAnotherCidIsResetFromThere(ulong destination)
    {
        Start();
        _backend.Listening.Add(HostServicePort);
        var packet = VsockTestGuest.Packet(VsockOp.Request, GuestEphemeralPort, HostServicePort);
        packet.DestinationCid = destination;
        _guest.Send(_device, packet);
        AssertReset(Assert.Single(_guest.TakeReceived()), HostServicePort, GuestEphemeralPort, fromCid: destination);
        Assert.Empty(_backend.Connected);
    }

    [Fact]
    public void ASeqpacketRequestIsReset()
    {
        Start();
        _backend.Listening.Add(HostServicePort);
        var packet = VsockTestGuest.Packet(VsockOp.Request, GuestEphemeralPort, HostServicePort);
        packet.Type = VsockSocketType.SeqPacket;
        _guest.Send(_device, packet);
        AssertReset(Assert.Single(_guest.TakeReceived()), HostServicePort, GuestEphemeralPort);
        Assert.Empty(_backend.Connected);
    }

    [Theory]
    [InlineData((ushort)0)]
    [InlineData((ushort)8)]
    [InlineData((ushort)0xFFFF)]
    public void AnUnknownOpResetsItsConnection(ushort op)
    {
        Start();
        var stream = ConnectFromGuest();
        _guest.Send(_device, VsockTestGuest.Packet((VsockOp)op, GuestEphemeralPort, HostServicePort));
        AssertReset(Assert.Single(_guest.TakeReceived()), HostServicePort, GuestEphemeralPort);
        Assert.True(stream.Disposed);
        Assert.Equal(1, _device.DroppedPackets);
    }

    [Fact]
    public void AResponseOnAnEstablishedConnectionResetsIt()
    {
        Start();
        var stream = ConnectFromGuest();
        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.Response, GuestEphemeralPort, HostServicePort));
        AssertReset(Assert.Single(_guest.TakeReceived()), HostServicePort, GuestEphemeralPort);
        Assert.True(stream.Disposed);
    }

    [Fact]
    public void ConnectionsAreCappedForTheGuestAndForHostPrograms()
    {
        Start(receiveBuffers: 0);
        _backend.Listening.Add(HostServicePort);
        for (uint port = 1; port <= VsockLimits.MaxConnections; port++)
            _guest.Send(_device, VsockTestGuest.Packet(VsockOp.Request, port, HostServicePort));
        Assert.Equal(VsockLimits.MaxConnections, _device.ConnectionCount);

        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.Request, 5000, HostServicePort));
        Assert.Equal(VsockLimits.MaxConnections, _device.ConnectionCount);
        Assert.Equal(1, _device.RefusedConnections);
        var program = _backend.HostConnects();
        Assert.True(program.Disposed);
        Assert.Equal(2, _device.RefusedConnections);

        // Resets go first once there is a buffer for them.
        _guest.PostReceiveBuffers(1);
        _device.Notify(VirtioVsock.ReceiveQueue);
        AssertReset(Assert.Single(_guest.TakeReceived(repost: false)), HostServicePort, 5000);
    }

    [Fact]
    public void AGuestShutdownOfSendingEndsTheHostStreamOnceFlushedAndShuttingBothEndsTheConnection()
    {
        Start();
        var (stream, hostPort) = ConnectFromHost();
        stream.WriteRoom = 0;
        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.ReadWrite, GuestPort, hostPort), Pattern(100));
        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.Shutdown, GuestPort, hostPort, flags: (uint)VsockShutdownFlags.Send));
        Assert.False(stream.WriteShut);

        stream.WriteRoom = int.MaxValue;
        Assert.True(stream.Raise());
        Assert.Equal(Pattern(100), stream.Written);
        Assert.True(stream.WriteShut);
        Assert.False(stream.Disposed);

        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.Shutdown, GuestPort, hostPort, flags: (uint)VsockShutdownFlags.Receive));
        AssertReset(Assert.Single(_guest.TakeReceived()), hostPort, GuestPort);
        Assert.True(stream.Disposed);
    }

    [Fact]
    public void AGuestShutdownOfReceivingStopsReadingTheHost()
    {
        Start();
        var (stream, hostPort) = ConnectFromHost();
        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.Shutdown, GuestPort, hostPort, flags: (uint)VsockShutdownFlags.Receive));
        stream.HostSends("unwanted"u8);
        Assert.False(stream.Raise());
        Assert.Empty(_guest.TakeReceived());
        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.ReadWrite, GuestPort, hostPort), "still sending"u8);
        Assert.Equal("still sending", Ascii(stream.Written));
    }

    [Fact]
    public void TheEndOfTheHostStreamReachesTheGuestAsAShutdownOfSending()
    {
        Start();
        var (stream, hostPort) = ConnectFromHost();
        stream.HostSends("bye"u8);
        stream.EndOfStream = true;
        Assert.True(stream.Raise());
        var packets = _guest.TakeReceived();
        Assert.Equal([VsockOp.ReadWrite, VsockOp.Shutdown], packets.Select(p => p.Op));
        Assert.Equal("bye", Ascii(packets[0].Payload));
        Assert.Equal((uint)VsockShutdownFlags.Send, packets[1].Header.Flags);

        // Half closed: the guest may still talk to the program.
        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.ReadWrite, GuestPort, hostPort), "reply"u8);
        Assert.Equal("reply", Ascii(stream.Written));
        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.Reset, GuestPort, hostPort));
        Assert.True(stream.Disposed);
    }

    [Fact]
    public void AProgramThatHangsUpIsShutDownBothWaysAndWritingToItResets()
    {
        Start();
        var (stream, hostPort) = ConnectFromHost();
        stream.HostSends("last words"u8);
        stream.Gone = true;
        Assert.True(stream.Raise());
        var packets = _guest.TakeReceived();
        Assert.Equal([VsockOp.ReadWrite, VsockOp.Shutdown], packets.Select(p => p.Op));
        Assert.Equal("last words", Ascii(packets[0].Payload));
        Assert.Equal((uint)(VsockShutdownFlags.Send | VsockShutdownFlags.Receive), packets[1].Header.Flags);
        // Hung up: never asked about again.
        Assert.Equal(VsockStreamEvents.None, stream.Requested);

        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.ReadWrite, GuestPort, hostPort), "anyone?"u8);
        AssertReset(Assert.Single(_guest.TakeReceived()), hostPort, GuestPort);
        Assert.True(stream.Disposed);
    }

    [Fact]
    public void AProgramThatLeavesBeforeTheGuestAnswersResetsTheRequest()
    {
        Start();
        var stream = _backend.HostConnects();
        stream.HostSends("CONNECT 1234\n"u8);
        stream.Raise();
        uint hostPort = Assert.Single(_guest.TakeReceived()).Header.SourcePort;
        stream.Gone = true;
        Assert.True(stream.Raise());
        AssertReset(Assert.Single(_guest.TakeReceived()), hostPort, GuestPort);
        Assert.True(stream.Disposed);

        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.Response, GuestPort, hostPort));
        AssertReset(Assert.Single(_guest.TakeReceived()), hostPort, GuestPort);
    }

    [Fact]
    public void AGuestRefusingAHostProgramClosesItsConnection()
    {
        Start();
        var stream = _backend.HostConnects();
        stream.HostSends("CONNECT 1234\n"u8);
        stream.Raise();
        uint hostPort = Assert.Single(_guest.TakeReceived()).Header.SourcePort;
        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.Reset, GuestPort, hostPort));
        Assert.True(stream.Disposed);
        Assert.Empty(stream.Written);
    }

    [Fact]
    public void ADriverResetEndsEveryConnection()
    {
        Start();
        var (first, _) = ConnectFromHost();
        var second = ConnectFromGuest();
        _device.Reset();
        Assert.True(first.Disposed);
        Assert.True(second.Disposed);
        Assert.Equal(0, _device.ConnectionCount);
        Assert.False(_device.NeedsReset);
    }

    [Fact]
    public void ABrokenRingNeedsAResetAndEndsEveryConnection()
    {
        _guest.Activate(_device);
        var stream = _backend.HostConnects();
        var broken = _guest.Receive.Layout with { Size = 3 };
        _device.Activate(new VirtioActivation(VirtqueueTestDriver.AllFeatures, _guest.Memory, [broken, _guest.Transmit.Layout, _guest.Events.Layout], _guest.Interrupt));
        Assert.True(_device.NeedsReset);
        Assert.Equal(1, _guest.Interrupt.ConfigurationChanges);
        Assert.True(stream.Disposed);
    }

    [Fact]
    public void AReceiveBufferTooSmallForAHeaderIsGivenBackUnused()
    {
        _guest.PostReceiveBuffers(1, size: 16);
        _guest.PostReceiveBuffers(1);
        _guest.Activate(_device);
        var stream = _backend.HostConnects();
        stream.HostSends("CONNECT 1234\n"u8);
        stream.Raise();
        Assert.Equal((0u, 0u), _guest.Receive.Used(0));
        Assert.Equal(1, _device.DroppedChains);
        Assert.Equal(2, _guest.Receive.UsedIndex);
    }

    [Fact]
    public void DisposingEndsEveryConnectionAndTheBackend()
    {
        Start();
        var (stream, _) = ConnectFromHost();
        _device.Dispose();
        Assert.True(stream.Disposed);
        Assert.True(_backend.Disposed);
        Assert.True(_backend.HostConnects().Disposed);
    }
}
