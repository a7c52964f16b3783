using System.Buffers.Binary;
using Ember.Devices.Tests.Fakes;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Net;
using Ember.Memory;

namespace Ember.Devices.Tests.Virtio.Net;

/// <summary>
/// A virtio-net driver's side for tests: one guest memory with a receive ring and a transmit ring (each with its own
/// buffer space), the interrupts the device raised, and helpers for headers and frames.
/// </summary>
public sealed class NetTestRig
{
    public const ulong RamSize = 0x100_0000;

    /// <summary>What a capable driver (Linux) accepts: everything offered, but RING_PACKED (the rig's drivers build split rings).</summary>
    public const ulong AllFeatures = (VirtioNet.DeviceFeatures | NetFeature.Mac) & ~VirtioFeature.RingPacked;

    public NetTestRig(ushort receiveSize = 16, ushort transmitSize = 16)
    {
        Memory = ArrayGuestMemory.Create((GuestAddress.Zero, RamSize));
        Receive = new VirtqueueTestDriver(receiveSize, Memory, 0x1_0000, 0x10_0000, 0x80_0000);
        Transmit = new VirtqueueTestDriver(transmitSize, Memory, 0x9_0000, 0x80_0000, RamSize);
    }

    public ArrayGuestMemory Memory { get; }

    public VirtqueueTestDriver Receive { get; }

    public VirtqueueTestDriver Transmit { get; }

    public RecordingVirtioInterrupt Interrupt { get; } = new();

    public void Activate(IVirtioDevice device, ulong features = AllFeatures) =>
        device.Activate(new VirtioActivation(features, Memory, [Receive.Layout, Transmit.Layout], Interrupt));

    /// <summary>A 12-byte virtio_net_hdr.</summary>
    public static byte[] Header(byte flags = 0, byte gsoType = 0, ushort headerLength = 0, ushort gsoSize = 0,
        ushort checksumStart = 0, ushort checksumOffset = 0, ushort numBuffers = 0)
    {
        var header = new byte[NetHeaderLayout.Size];
        header[0] = flags;
        header[1] = gsoType;
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(2), headerLength);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4), gsoSize);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(6), checksumStart);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), checksumOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(10), numBuffers);
        return header;
    }

    /// <summary>An Ethernet frame of <paramref name="length"/> bytes (at least 14) whose bytes count up from <paramref name="seed"/>.</summary>
    public static byte[] Ethernet(int length, byte seed = 1)
    {
        var frame = new byte[length];
        for (int i = 0; i < length; i++)
            frame[i] = (byte)(seed + i);
        // Broadcast destination, a local unicast source, IPv4: a plausible frame whatever the length.
        frame.AsSpan(0, 6).Fill(0xFF);
        frame[6] = 0x02;
        frame[12] = 0x08;
        frame[13] = 0x00;
        return frame;
    }

    /// <summary>Header then Ethernet frame, as one array.</summary>
    public static byte[] Frame(byte[] header, byte[] ethernet) => [.. header, .. ethernet];
}
