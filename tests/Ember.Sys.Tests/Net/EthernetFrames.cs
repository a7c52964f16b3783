using System.Buffers.Binary;

namespace Ember.Sys.Tests.Net;

/// <summary>Just enough Ethernet, ARP, IPv4, UDP and ICMP to talk to a namespace's kernel through a TAP.</summary>
public static class EthernetFrames
{
    public const int HeaderSize = 14;
    public const ushort ArpType = 0x0806;
    public const ushort Ipv4Type = 0x0800;
    public const byte IcmpProtocol = 1;
    public const byte UdpProtocol = 17;

    public static ushort EtherType(ReadOnlySpan<byte> frame) => BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);

    public static bool IsArpRequestFor(ReadOnlySpan<byte> frame, byte[] targetIp) =>
        frame.Length >= HeaderSize + 28 && EtherType(frame) == ArpType
        && BinaryPrimitives.ReadUInt16BigEndian(frame[(HeaderSize + 6)..]) == 1
        && frame.Slice(HeaderSize + 24, 4).SequenceEqual(targetIp);

    public static bool IsArpReplyFrom(ReadOnlySpan<byte> frame, byte[] senderIp) =>
        frame.Length >= HeaderSize + 28 && EtherType(frame) == ArpType
        && BinaryPrimitives.ReadUInt16BigEndian(frame[(HeaderSize + 6)..]) == 2
        && frame.Slice(HeaderSize + 14, 4).SequenceEqual(senderIp);

    /// <summary>A broadcast ARP request (RFC 826): who has <paramref name="targetIp"/>? Tell <paramref name="senderIp"/>.</summary>
    public static byte[] ArpRequest(byte[] senderMac, byte[] senderIp, byte[] targetIp)
    {
        var (_, arp) = ArpReply(senderMac, senderIp, new byte[6], targetIp);
        BinaryPrimitives.WriteUInt16BigEndian(arp.AsSpan(6), 1);
        return [.. EthernetHeader([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], senderMac, ArpType), .. arp];
    }

    /// <summary>The IPv4 protocol number, or -1 when this is not IPv4.</summary>
    public static int IpProtocol(ReadOnlySpan<byte> frame) =>
        frame.Length >= HeaderSize + 20 && EtherType(frame) == Ipv4Type ? frame[HeaderSize + 9] : -1;

    /// <summary>An ARP reply (RFC 826): <paramref name="senderIp"/> is at <paramref name="senderMac"/>.</summary>
    public static (byte[] Ethernet, byte[] Arp) ArpReply(byte[] senderMac, byte[] senderIp, byte[] targetMac, byte[] targetIp)
    {
        var ethernet = EthernetHeader(targetMac, senderMac, ArpType);
        var arp = new byte[28];
        BinaryPrimitives.WriteUInt16BigEndian(arp, 1);             // hardware: Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(arp.AsSpan(2), Ipv4Type);
        arp[4] = 6;
        arp[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(arp.AsSpan(6), 2);   // reply
        senderMac.CopyTo(arp, 8);
        senderIp.CopyTo(arp, 14);
        targetMac.CopyTo(arp, 18);
        targetIp.CopyTo(arp, 24);
        return (ethernet, arp);
    }

    /// <summary>An ICMP echo request (RFC 792) in IPv4 in Ethernet, with both checksums computed.</summary>
    public static byte[] IcmpEchoRequest(byte[] sourceMac, byte[] destinationMac, byte[] sourceIp, byte[] destinationIp,
        ushort identifier, ushort sequence, ReadOnlySpan<byte> payload)
    {
        int icmpLength = 8 + payload.Length;
        var frame = new byte[HeaderSize + 20 + icmpLength];
        EthernetHeader(destinationMac, sourceMac, Ipv4Type).CopyTo(frame, 0);
        var ip = frame.AsSpan(HeaderSize, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + icmpLength));
        ip[8] = 64;
        ip[9] = IcmpProtocol;
        sourceIp.CopyTo(ip[12..]);
        destinationIp.CopyTo(ip[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], InternetChecksum(ip));
        var icmp = frame.AsSpan(HeaderSize + 20);
        icmp[0] = 8;
        BinaryPrimitives.WriteUInt16BigEndian(icmp[4..], identifier);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[6..], sequence);
        payload.CopyTo(icmp[8..]);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], InternetChecksum(icmp));
        return frame;
    }

    /// <summary>The ones' complement of the ones' complement sum of 16-bit words (RFC 1071).</summary>
    public static ushort InternetChecksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int i = 0; i + 1 < data.Length; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (data.Length % 2 == 1)
            sum += (uint)data[^1] << 8;
        while (sum > 0xFFFF)
            sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }

    private static byte[] EthernetHeader(byte[] destination, byte[] source, ushort type)
    {
        var header = new byte[HeaderSize];
        destination.CopyTo(header, 0);
        source.CopyTo(header, 6);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(12), type);
        return header;
    }
}
