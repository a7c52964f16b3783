using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Ember.Sys.Tests.Net;

/// <summary>
/// A real TAP, moved into a namespace of the test's own with an address: the namespace's kernel sends frames that the
/// TapDevice reads, and answers frames it writes.
/// </summary>
public sealed class TapDeviceTests
{
    private static readonly byte[] NamespaceIp = [10, 254, 0, 1];
    private static readonly byte[] GuestIp = [10, 254, 0, 2];
    private static readonly byte[] GuestMac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];

    private static void SkipWithoutTap()
    {
        var missing = NetworkNamespace.MissingPrerequisite();
        Assert.SkipWhen(missing is not null, missing ?? "");
    }

    private static string UniqueTapName() => $"embt{Environment.ProcessId % 10000}{Random.Shared.Next(0x1000):x3}";

    [Fact]
    public void FramesFlowBothWaysWithTheirVirtioNetHeader()
    {
        SkipWithoutTap();
        using var netns = NetworkNamespace.Create();
        var name = UniqueTapName();
        using var tap = TapDevice.Open(name);
        Assert.Equal(name, tap.Name);
        var buffer = new byte[TapDevice.VnetHeaderSize + 1514];
        Assert.Equal(0, tap.ReadFrame(buffer));

        netns.Adopt(name);
        netns.Exec("ip", "addr", "add", "10.254.0.1/24", "dev", name);
        netns.Exec("ip", "link", "set", name, "up");
        // A datagram to a neighbour the namespace has not resolved: its kernel asks for it with ARP through the TAP.
        netns.Exec("bash", "-c", "echo ember > /dev/udp/10.254.0.2/7777");

        var arpRequest = ReadUntil(tap, buffer, frame => EthernetFrames.IsArpRequestFor(frame, GuestIp));
        var namespaceMac = arpRequest.Slice(6, 6).ToArray();

        // The reply gathered from three segments: the header, the Ethernet header, the ARP body.
        var (ethernet, arp) = EthernetFrames.ArpReply(GuestMac, GuestIp, namespaceMac, NamespaceIp);
        Assert.True(tap.WriteFrame([new byte[TapDevice.VnetHeaderSize], ethernet, arp]));

        // Resolved, the kernel sends the datagram it held back, to the MAC the reply announced.
        var datagram = ReadUntil(tap, buffer, frame => EthernetFrames.IpProtocol(frame) == EthernetFrames.UdpProtocol);
        Assert.Equal(GuestMac, datagram[..6].ToArray());
        Assert.Equal("ember\n", Encoding.ASCII.GetString(datagram[(EthernetFrames.HeaderSize + 28)..]));
        Assert.Contains("lladdr 02:00:00:00:00:02", netns.Exec("ip", "neigh", "show", "10.254.0.2"));

        // An echo request written as one frame; the namespace's kernel answers it.
        var request = EthernetFrames.IcmpEchoRequest(GuestMac, namespaceMac, GuestIp, NamespaceIp, 0xE3B, 7, "ping from the guest"u8);
        Assert.True(tap.WriteFrame([.. new byte[TapDevice.VnetHeaderSize], .. request]));
        var reply = ReadUntil(tap, buffer, frame => EthernetFrames.IpProtocol(frame) == EthernetFrames.IcmpProtocol);
        var icmp = reply[(EthernetFrames.HeaderSize + 20)..];
        Assert.Equal(0, icmp[0]);
        Assert.Equal(0xE3B, BinaryPrimitives.ReadUInt16BigEndian(icmp[4..]));
        Assert.Equal(7, BinaryPrimitives.ReadUInt16BigEndian(icmp[6..]));
        Assert.Equal("ping from the guest", Encoding.ASCII.GetString(icmp[8..]));

        // What Ember wrote, the interface received: exactly the two frames.
        using var stats = JsonDocument.Parse(netns.Exec("ip", "-s", "-j", "link", "show", name));
        var rx = stats.RootElement[0].GetProperty("stats64").GetProperty("rx");
        Assert.Equal(2, rx.GetProperty("packets").GetInt64());
        Assert.Equal(ethernet.Length + arp.Length + request.Length, rx.GetProperty("bytes").GetInt64());
    }

    [Theory]
    [InlineData(TapOffload.None)]
    [InlineData(TapOffload.Checksum)]
    public void OffloadsDecideWhetherTheKernelLeavesTheChecksumToTheGuest(TapOffload offload)
    {
        SkipWithoutTap();
        using var netns = NetworkNamespace.Create();
        var name = UniqueTapName();
        using var tap = TapDevice.Open(name, offload);
        AssertDatagramChecksum(netns, tap, expectPartial: offload.HasFlag(TapOffload.Checksum));
    }

    [Fact]
    public void OffloadsChangeOnAnOpenTap()
    {
        SkipWithoutTap();
        using var netns = NetworkNamespace.Create();
        var name = UniqueTapName();
        using var tap = TapDevice.Open(name);
        tap.SetOffload(TapOffload.Checksum);
        AssertDatagramChecksum(netns, tap, expectPartial: true);
    }

    [Fact]
    public void AnOffloadTheKernelDoesNotKnowIsRefusedByName()
    {
        SkipWithoutTap();
        var name = UniqueTapName();
        using var tap = TapDevice.Open(name);
        var refused = Assert.Throws<SystemCallException>(() => tap.SetOffload((TapOffload)0x8000_0000));
        Assert.Equal(Errno.EINVAL, refused.Errno);
        Assert.Contains($"TAP '{name}'", refused.Message);
    }

    /// <summary>
    /// Moves the TAP into the namespace, has it send a UDP datagram to a static neighbour, and checks the virtio-net
    /// header: with checksum offload the kernel leaves the UDP checksum to the guest (virtio 1.2 §5.1.6.2: NEEDS_CSUM,
    /// summed from csum_start, after the Ethernet and IP headers, stored at csum_offset, UDP's 6); without, it is done.
    /// </summary>
    private static void AssertDatagramChecksum(NetworkNamespace netns, TapDevice tap, bool expectPartial)
    {
        netns.Adopt(tap.Name);
        netns.Exec("ip", "addr", "add", "10.254.0.1/24", "dev", tap.Name);
        netns.Exec("ip", "neigh", "add", "10.254.0.2", "lladdr", "02:00:00:00:00:02", "dev", tap.Name);
        netns.Exec("ip", "link", "set", tap.Name, "up");
        netns.Exec("bash", "-c", "echo ember > /dev/udp/10.254.0.2/7777");

        var buffer = new byte[TapDevice.VnetHeaderSize + 1514];
        int length = ReadUntilWithHeader(tap, buffer, frame => EthernetFrames.IpProtocol(frame) == EthernetFrames.UdpProtocol);
        var header = buffer.AsSpan(0, TapDevice.VnetHeaderSize);
        const byte needsChecksum = 1;
        Assert.Equal(0, header[1]); // gso_type: none
        int udpStart = TapDevice.VnetHeaderSize + EthernetFrames.HeaderSize + 20;
        if (expectPartial)
        {
            Assert.Equal(needsChecksum, header[0] & needsChecksum);
            Assert.Equal(EthernetFrames.HeaderSize + 20, BinaryPrimitives.ReadUInt16LittleEndian(header[6..]));
            Assert.Equal(6, BinaryPrimitives.ReadUInt16LittleEndian(header[8..]));
        }
        else
        {
            Assert.Equal(0, header[0] & needsChecksum);
            // A finished UDP checksum over the pseudo-header and the datagram sums to zero (RFC 768).
            var udp = buffer.AsSpan(udpStart, length - udpStart);
            var ip = buffer.AsSpan(TapDevice.VnetHeaderSize + EthernetFrames.HeaderSize, 20);
            var pseudo = new byte[12 + udp.Length];
            ip.Slice(12, 8).CopyTo(pseudo);
            pseudo[9] = EthernetFrames.UdpProtocol;
            BinaryPrimitives.WriteUInt16BigEndian(pseudo.AsSpan(10), (ushort)udp.Length);
            udp.CopyTo(pseudo.AsSpan(12));
            Assert.Equal(0, EthernetFrames.InternetChecksum(pseudo));
        }
    }

    [Fact]
    public void AFrameLongerThanTheBufferIsCutToIt()
    {
        SkipWithoutTap();
        using var netns = NetworkNamespace.Create();
        var name = UniqueTapName();
        using var tap = TapDevice.Open(name);
        netns.Adopt(name);
        netns.Exec("ip", "addr", "add", "10.254.0.1/24", "dev", name);
        netns.Exec("ip", "neigh", "add", "10.254.0.2", "lladdr", "02:00:00:00:00:02", "dev", name);
        netns.Exec("ip", "link", "set", name, "up");
        netns.Exec("bash", "-c", "echo ember > /dev/udp/10.254.0.2/7777");

        // The datagram's frame is 12 + 14 + 20 + 8 + 6 bytes; a 30-byte buffer takes its header and Ethernet header.
        var small = new byte[TapDevice.VnetHeaderSize + EthernetFrames.HeaderSize + 4];
        int length = ReadUntilWithHeader(tap, small, frame => EthernetFrames.EtherType(frame) == EthernetFrames.Ipv4Type);
        Assert.Equal(small.Length, length);
        Assert.Equal(GuestMac, small.AsSpan(TapDevice.VnetHeaderSize, 6).ToArray());
    }

    [Fact]
    public void ASecondOpenOfATapInUseIsRefusedByName()
    {
        SkipWithoutTap();
        var name = UniqueTapName();
        using var first = TapDevice.Open(name);
        var refused = Assert.Throws<SystemCallException>(() => TapDevice.Open(name));
        Assert.Equal(Errno.EBUSY, refused.Errno);
        Assert.Contains($"TAP '{name}'", refused.Message);
        Assert.Contains("already in use", refused.Message);
        Assert.DoesNotContain('\n', refused.Message);
    }

    [Fact]
    public void AnInterfaceThatIsNotATapIsRefusedByName()
    {
        SkipWithoutTap();
        var refused = Assert.Throws<SystemCallException>(() => TapDevice.Open("lo"));
        Assert.Equal(Errno.EINVAL, refused.Errno);
        Assert.Contains("TAP 'lo'", refused.Message);
        Assert.Contains("is not a single-queue TAP", refused.Message);
    }

    [Fact]
    public void AClosedTapDisappears()
    {
        SkipWithoutTap();
        var name = UniqueTapName();
        using (TapDevice.Open(name))
            Assert.Contains(name, NetworkNamespace.Ip("link", "show", name));
        Assert.Throws<InvalidOperationException>(() => NetworkNamespace.Ip("link", "show", name));
    }

    [Fact]
    public void AMissingCloneDeviceSaysHowToGetOne()
    {
        var refused = Assert.Throws<SystemCallException>(() => TapDevice.Open("tap0", TapOffload.None, "/nonexistent/net/tun"));
        Assert.Equal(Errno.ENOENT, refused.Errno);
        Assert.Contains("TAP 'tap0'", refused.Message);
        Assert.Contains("modprobe tun", refused.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a-name-of-16-chr")]
    [InlineData("tap/0")]
    [InlineData("tap 0")]
    [InlineData("tap%d")]
    [InlineData("tap:0")]
    [InlineData("..")]
    [InlineData("t\u00e4p0")]
    [InlineData("tap\n0")]
    public void BadNamesAreRefusedBeforeTheKernelSeesThem(string name)
    {
        Assert.NotNull(TapDevice.ValidateName(name));
        var refused = Assert.Throws<ArgumentException>(() => TapDevice.Open(name, TapOffload.None, "/nonexistent/net/tun"));
        Assert.DoesNotContain('\n', refused.Message);
    }

    [Fact]
    public void InterfaceExistsSeesOnlyThisNamespacesInterfaces()
    {
        SkipWithoutTap();
        Assert.True(TapDevice.InterfaceExists("lo"));
        Assert.False(TapDevice.InterfaceExists("embnosuch0"));
        Assert.False(TapDevice.InterfaceExists("bad/name"));
        using var netns = NetworkNamespace.Create();
        var name = UniqueTapName();
        using var tap = TapDevice.Open(name);
        Assert.True(TapDevice.InterfaceExists(name));
        // Moved into another namespace, the TAP is no longer here, though its fd still works.
        netns.Adopt(name);
        Assert.False(TapDevice.InterfaceExists(name));
    }

    [Theory]
    [InlineData("tap0")]
    [InlineData("a-name-of-15-ch")]
    [InlineData("vm_1.net-2")]
    public void GoodNamesPass(string name) => Assert.Null(TapDevice.ValidateName(name));

    /// <summary>Reads frames (up to 10 s) until one matches; returns it without its virtio-net header.</summary>
    private static ReadOnlySpan<byte> ReadUntil(TapDevice tap, byte[] buffer, FramePredicate match)
    {
        int length = ReadUntilWithHeader(tap, buffer, match);
        return buffer.AsSpan(TapDevice.VnetHeaderSize, length - TapDevice.VnetHeaderSize);
    }

    private static int ReadUntilWithHeader(TapDevice tap, byte[] buffer, FramePredicate match)
    {
        using var epoll = new Epoll();
        epoll.Add(tap.Handle, EpollEvents.In, 1);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        Span<ReadyEvent> ready = stackalloc ReadyEvent[1];
        while (DateTime.UtcNow < deadline)
        {
            int length = tap.ReadFrame(buffer);
            if (length == 0)
            {
                epoll.Wait(ready, 200);
                continue;
            }
            Assert.True(length >= TapDevice.VnetHeaderSize);
            if (match(buffer.AsSpan(TapDevice.VnetHeaderSize, length - TapDevice.VnetHeaderSize)))
                return length;
        }
        Assert.Fail("no matching frame came out of the TAP within 10 s");
        return 0;
    }

    private delegate bool FramePredicate(ReadOnlySpan<byte> frame);
}
