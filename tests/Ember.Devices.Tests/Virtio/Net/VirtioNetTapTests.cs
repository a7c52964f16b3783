using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Net;
using Ember.Sys;
using Ember.Sys.Tests.Net;
using Xunit;

namespace Ember.Devices.Tests.Virtio.Net;

/// <summary>
/// virtio-net over a real TAP: the TAP lives in a network namespace the test creates, with an address, and the device
/// is served by a real event loop thread while the test plays the driver on rings in array memory. What the "guest"
/// transmits reaches the namespace's kernel, which answers; what the kernel sends arrives in the receive ring.
/// </summary>
public sealed class VirtioNetTapTests : IDisposable
{
    private static readonly TimeSpan SafetyNet = TimeSpan.FromSeconds(10);
    private static readonly byte[] NamespaceIp = [10, 254, 1, 1];
    private static readonly byte[] GuestIp = [10, 254, 1, 2];
    private static readonly MacAddress GuestMacAddress = MacAddress.Parse("02:00:00:00:01:02");
    private static readonly byte[] GuestMac = GuestMacAddress.ToArray();

    private readonly NetworkNamespace? _netns;
    private readonly EventLoop _loop = new();
    private readonly NetTestRig _rig = new(receiveSize: 64, transmitSize: 64);
    private readonly Dictionary<ushort, TestBuffer> _receiveBuffers = [];
    private TapDevice? _tap;
    private TapNetBackend? _backend;
    private CountingNetBackend? _counting;
    private VirtioNet? _device;
    private string _tapName = "";
    private ushort _nextUsed;
    private int _wakeups;

    public VirtioNetTapTests()
    {
        var missing = NetworkNamespace.MissingPrerequisite();
        Assert.SkipWhen(missing is not null, missing ?? "");
        _netns = NetworkNamespace.Create();
    }

    public void Dispose()
    {
        // The loop first: no handler may run on a closed TAP.
        _loop.Dispose();
        _backend?.Dispose();
        _netns?.Dispose();
    }

    /// <summary>Opens the TAP, moves it into the namespace with an address, and starts the device on the loop.</summary>
    private VirtioNet Start(ulong features = NetTestRig.AllFeatures, int receiveBuffers = 16, bool staticNeighbour = false)
    {
        _tapName = $"embn{Environment.ProcessId % 10000}{Random.Shared.Next(0x1000):x3}";
        _tap = TapDevice.Open(_tapName);
        _backend = new TapNetBackend(_tap);
        _counting = new CountingNetBackend(_backend);
        _device = new VirtioNet(_counting, GuestMacAddress);
        _backend.Attach(_loop, readiness =>
        {
            Interlocked.Increment(ref _wakeups);
            _device.OnBackendReady(readiness);
        });
        _netns!.Adopt(_tapName);
        // No IPv6 chatter (router solicitations, MLD): only the frames a test asks for cross the TAP.
        _netns.Exec("bash", "-c", $"echo 1 > /proc/sys/net/ipv6/conf/{_tapName}/disable_ipv6");
        _netns.Exec("ip", "addr", "add", "10.254.1.1/24", "dev", _tapName);
        if (staticNeighbour)
            _netns.Exec("ip", "neigh", "add", "10.254.1.2", "lladdr", GuestMacAddress.ToString(), "dev", _tapName);
        _netns.Exec("ip", "link", "set", _tapName, "up");
        _loop.Start(ThreadRole.DeviceIo, "net-test");
        for (int i = 0; i < receiveBuffers; i++)
            PostReceiveBuffer();
        _rig.Activate(_device, features);
        return _device;
    }

    private void PostReceiveBuffer()
    {
        var buffer = _rig.Receive.Writable(2048);
        _receiveBuffers[_rig.Receive.Post(buffer)] = buffer;
    }

    private void Transmit(byte[] ethernet)
    {
        var tx = _rig.Transmit;
        tx.Post(tx.Readable(NetTestRig.Header()), tx.Readable(ethernet));
        _device!.Notify(VirtioNet.TransmitQueue);
    }

    /// <summary>The next frame the device put in the receive ring (header first), waiting for it up to the safety net.</summary>
    private byte[] NextReceived()
    {
        var deadline = DateTime.UtcNow + SafetyNet;
        while (_rig.Receive.UsedIndex == _nextUsed)
        {
            Assert.True(DateTime.UtcNow < deadline, "no frame reached the receive ring");
            Thread.Sleep(5);
        }
        var (id, length) = _rig.Receive.Used(_nextUsed++);
        var buffer = _receiveBuffers[(ushort)id];
        Assert.InRange(length, (uint)(NetHeaderLayout.Size + EthernetFrames.HeaderSize), buffer.Length);
        return _rig.Receive.ReadBytes(buffer.Address, (int)length);
    }

    private byte[] NextReceived(Func<byte[], bool> match)
    {
        while (true)
        {
            var frame = NextReceived();
            if (match(frame[NetHeaderLayout.Size..]))
                return frame;
        }
    }

    private long InterfaceCounter(string direction, string counter)
    {
        using var stats = JsonDocument.Parse(_netns!.Exec("ip", "-s", "-j", "link", "show", _tapName));
        return stats.RootElement[0].GetProperty("stats64").GetProperty(direction).GetProperty(counter).GetInt64();
    }

    [Fact]
    public void WhatTheGuestTransmitsReachesTheNamespaceAndItsAnswersComeBackIntoTheReceiveRing()
    {
        var device = Start();
        Assert.Equal(TapOffload.Checksum | TapOffload.Tso4 | TapOffload.Tso6, device.Offload);

        Transmit(EthernetFrames.ArpRequest(GuestMac, GuestIp, NamespaceIp));

        var reply = NextReceived(frame => EthernetFrames.IsArpReplyFrom(frame, NamespaceIp));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(reply.AsSpan(NetHeaderLayout.NumBuffers)));
        Assert.Equal(NetHeaderLayout.GsoNone, reply[NetHeaderLayout.GsoType]);
        var ethernet = reply.AsSpan(NetHeaderLayout.Size);
        Assert.Equal(GuestMac, ethernet[..6].ToArray());
        var namespaceMac = ethernet.Slice(6, 6).ToArray();
        Assert.Equal(GuestMac, ethernet.Slice(EthernetFrames.HeaderSize + 18, 6).ToArray());

        // Now a ping, which the namespace's kernel answers.
        Transmit(EthernetFrames.IcmpEchoRequest(GuestMac, namespaceMac, GuestIp, NamespaceIp, 0x4E7, 3, "ping through virtio-net"u8));
        var pong = NextReceived(frame => EthernetFrames.IpProtocol(frame) == EthernetFrames.IcmpProtocol);
        var icmp = pong.AsSpan(NetHeaderLayout.Size + EthernetFrames.HeaderSize + 20);
        Assert.Equal(0, icmp[0]);
        Assert.Equal(0x4E7, BinaryPrimitives.ReadUInt16BigEndian(icmp[4..]));
        Assert.Equal(3, BinaryPrimitives.ReadUInt16BigEndian(icmp[6..]));
        Assert.Equal("ping through virtio-net", Encoding.ASCII.GetString(icmp[8..]));

        Assert.Equal(2, device.FramesSent);
        Assert.Equal(2, InterfaceCounter("rx", "packets"));
        Assert.Contains($"lladdr {GuestMacAddress}", _netns!.Exec("ip", "neigh", "show", "10.254.1.2"));
        Assert.Equal(0, _backend!.Failures);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TheNegotiatedChecksumOffloadDecidesWhatTheKernelLeavesToTheGuest(bool guestChecksum)
    {
        ulong features = guestChecksum ? NetTestRig.AllFeatures : NetTestRig.AllFeatures & ~(NetFeature.GuestChecksum | NetFeature.GuestTso4 | NetFeature.GuestTso6);
        Start(features, staticNeighbour: true);

        _netns!.Exec("bash", "-c", "echo ember > /dev/udp/10.254.1.2/7777");

        var frame = NextReceived(f => EthernetFrames.IpProtocol(f) == EthernetFrames.UdpProtocol);
        Assert.Equal(NetHeaderLayout.GsoNone, frame[NetHeaderLayout.GsoType]);
        int udpStart = NetHeaderLayout.Size + EthernetFrames.HeaderSize + 20;
        Assert.Equal("ember\n", Encoding.ASCII.GetString(frame.AsSpan(udpStart + 8)));
        if (guestChecksum)
        {
            // Left to the guest (virtio 1.2 §5.1.6.4): summed from the UDP header, stored at its checksum field.
            Assert.Equal(NetHeaderLayout.FlagNeedsChecksum, frame[NetHeaderLayout.Flags] & NetHeaderLayout.FlagNeedsChecksum);
            Assert.Equal(EthernetFrames.HeaderSize + 20, BinaryPrimitives.ReadUInt16LittleEndian(frame.AsSpan(6)));
            Assert.Equal(6, BinaryPrimitives.ReadUInt16LittleEndian(frame.AsSpan(8)));
        }
        else
        {
            Assert.Equal(0, frame[NetHeaderLayout.Flags]);
            var udp = frame.AsSpan(udpStart);
            var pseudo = new byte[12 + udp.Length];
            frame.AsSpan(NetHeaderLayout.Size + EthernetFrames.HeaderSize + 12, 8).CopyTo(pseudo);
            pseudo[9] = EthernetFrames.UdpProtocol;
            BinaryPrimitives.WriteUInt16BigEndian(pseudo.AsSpan(10), (ushort)udp.Length);
            udp.CopyTo(pseudo.AsSpan(12));
            Assert.Equal(0, EthernetFrames.InternetChecksum(pseudo));
        }
    }

    [Fact]
    public void WithoutReceiveBuffersFramesWaitInTheTapWithoutSpinningAndAllArriveOnceBuffersCome()
    {
        var device = Start(receiveBuffers: 0, staticNeighbour: true);
        for (int i = 1; i <= 3; i++)
            _netns!.Exec("bash", "-c", $"echo datagram-{i} > /dev/udp/10.254.1.2/7777");

        // The namespace's kernel handed them to the TAP: its fd is readable (seen through an epoll of the test's own)...
        using (var epoll = new Epoll())
        {
            epoll.Add(_tap!.Handle, EpollEvents.In, 1);
            Span<ReadyEvent> ready = stackalloc ReadyEvent[1];
            Assert.True(epoll.Wait(ready, (int)SafetyNet.TotalMilliseconds) == 1, "the namespace did not send the datagrams");
        }
        // ...and with nowhere to put them the device takes none and does not poll for them: the readable TAP does not
        // wake the loop over and over.
        int callsBefore = _counting!.ReceiveCalls;
        int wakeupsBefore = Volatile.Read(ref _wakeups);
        Thread.Sleep(200);
        Assert.Equal(callsBefore, _counting.ReceiveCalls);
        Assert.Equal(wakeupsBefore, Volatile.Read(ref _wakeups));
        Assert.Equal(0, _counting.FramesReceived);
        Assert.False(device.HasPendingReceiveFrame);

        for (int i = 0; i < 4; i++)
            PostReceiveBuffer();
        device.Notify(VirtioNet.ReceiveQueue);

        for (int i = 1; i <= 3; i++)
        {
            var frame = NextReceived(f => EthernetFrames.IpProtocol(f) == EthernetFrames.UdpProtocol);
            Assert.Equal($"datagram-{i}\n", Encoding.ASCII.GetString(frame.AsSpan(NetHeaderLayout.Size + EthernetFrames.HeaderSize + 28)));
        }
        Assert.Equal(0, device.ReceiveDropped);
        Assert.Equal(0, InterfaceCounter("tx", "dropped"));
    }

    [Fact]
    public void AFrameTheKernelRefusesIsDroppedAndTheNextOneStillGoes()
    {
        var device = Start();
        var tx = _rig.Transmit;
        // A TSO header whose segment size is 0: negotiated, so the device passes it on, and the kernel rejects it.
        var bad = NetTestRig.Header(NetHeaderLayout.FlagNeedsChecksum, NetHeaderLayout.GsoTcpV4, headerLength: 54, gsoSize: 0, checksumStart: 34, checksumOffset: 16);
        tx.Post(tx.Readable(bad), tx.Readable(NetTestRig.Ethernet(200)));
        device.Notify(VirtioNet.TransmitQueue);

        Transmit(EthernetFrames.ArpRequest(GuestMac, GuestIp, NamespaceIp));

        NextReceived(frame => EthernetFrames.IsArpReplyFrom(frame, NamespaceIp));
        Assert.Equal(2, tx.UsedIndex);
        Assert.Equal(1, device.FramesSent);
        Assert.Equal(1, device.TransmitDropped);
        Assert.Equal(1, _backend!.RefusedFrames);
        Assert.Equal(0, _backend.Failures);
    }
}
