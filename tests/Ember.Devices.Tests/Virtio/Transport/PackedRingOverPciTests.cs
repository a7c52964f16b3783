using System.Buffers.Binary;
using Ember.Devices.Pci;
using Ember.Devices.Tests.Fakes;
using Ember.Devices.Tests.Pci;
using Ember.Devices.Tests.Virtio.Block;
using Ember.Devices.Tests.Virtio.Entropy;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Block;
using Ember.Devices.Virtio.Entropy;
using Ember.Devices.Virtio.Queues;
using Ember.Devices.Virtio.Transport;

namespace Ember.Devices.Tests.Virtio.Transport;

/// <summary>
/// Real devices (virtio-rng, virtio-blk over a real file) behind the virtio-pci transport, driven through its registers by
/// a driver that negotiates VIRTIO_F_RING_PACKED (virtio 1.2 §2.8, §4.1.4.3): the queue addresses become the descriptor
/// ring and the two event suppression structures, a queue size that is not a power of two is accepted, and requests go
/// through the notify region and come back as used descriptors with an interrupt.
/// </summary>
public sealed class PackedRingOverPciTests : IDisposable
{
    private const ulong BarAddress = 0xC100_0000;
    private const ulong Accepted = VirtioFeature.Version1 | VirtioFeature.RingPacked | VirtioFeature.IndirectDescriptors | VirtioFeature.EventIndex;
    private readonly PackedQueueTestDriver _driver = new(size: 5);
    private readonly RecordingInterruptLine _intx = new();
    private readonly TemporaryDiskImage _image = new(64 * 512);
    private VirtioPciFunction? _function;

    public void Dispose() => _image.Dispose();

    private VirtioPciFunction Attach(IVirtioDevice device)
    {
        _function = new VirtioPciFunction(device, _driver.Memory, count => new RecordingMsiVectorGroup(count), _intx);
        _function.Configuration.SetBarAddress(0, BarAddress);
        _function.Configuration.GuestWrite16(PciConfigRegisters.Command, (ushort)PciCommand.MemorySpace);
        return _function;
    }

    private ulong ReadBar(ulong offset, int width)
    {
        Span<byte> data = stackalloc byte[8];
        _function!.BarRegion(0)!.Read(offset, data[..width]);
        return BinaryPrimitives.ReadUInt64LittleEndian(data);
    }

    private void WriteBar(ulong offset, int width, ulong value)
    {
        Span<byte> data = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(data, value);
        _function!.BarRegion(0)!.Write(offset, data[..width]);
    }

    private void WriteCommon(uint offset, int width, ulong value) => WriteBar(VirtioPciLayout.CommonOffset + offset, width, value);

    private ulong ReadCommon(uint offset, int width) => ReadBar(VirtioPciLayout.CommonOffset + offset, width);

    private ulong OfferedFeatures()
    {
        WriteCommon(0x00, 4, 0);
        ulong offered = ReadCommon(0x04, 4);
        WriteCommon(0x00, 4, 1);
        return offered | (ReadCommon(0x04, 4) << 32);
    }

    /// <summary>§3.1.1 with <paramref name="features"/>, queue 0 at the packed driver's layout, DRIVER_OK; returns the size the transport kept.</summary>
    private ushort BringUp(ulong features)
    {
        WriteCommon(0x14, 1, 1);
        WriteCommon(0x14, 1, 3);
        Assert.Equal(features, OfferedFeatures() & features);
        WriteCommon(0x08, 4, 0);
        WriteCommon(0x0C, 4, (uint)features);
        WriteCommon(0x08, 4, 1);
        WriteCommon(0x0C, 4, features >> 32);
        WriteCommon(0x14, 1, 3 | 8);
        Assert.Equal(3UL | 8, ReadCommon(0x14, 1));
        var layout = _driver.Layout;
        WriteCommon(0x16, 2, 0);
        WriteCommon(0x18, 2, layout.Size);
        ushort size = (ushort)ReadCommon(0x18, 2);
        // In packed mode these are the descriptor ring, the driver and the device event suppression structures.
        WriteCommon(0x20, 8, layout.DescriptorArea);
        WriteCommon(0x28, 8, layout.DriverArea);
        WriteCommon(0x30, 8, layout.DeviceArea);
        WriteCommon(0x1C, 2, 1);
        WriteCommon(0x14, 1, 0x0F);
        return size;
    }

    private void NotifyQueue0()
    {
        WriteCommon(0x16, 2, 0);
        ulong notifyOffset = ReadCommon(0x1E, 2);
        WriteBar(VirtioPciLayout.NotifyOffset + (notifyOffset * VirtioPciLayout.NotifyOffMultiplier), 2, 0);
    }

    [Fact]
    public void EveryDeviceOffersPackedRings()
    {
        Attach(new VirtioEntropy());
        Assert.NotEqual(0UL, OfferedFeatures() & VirtioFeature.RingPacked);
        Attach(new VirtioBlock(new FileBlockBackend(_image.Handle, readOnly: false)));
        Assert.NotEqual(0UL, OfferedFeatures() & VirtioFeature.RingPacked);
    }

    [Fact]
    public void AQueueSizeThatIsNotAPowerOfTwoIsRefusedForSplitRings()
    {
        Attach(new VirtioEntropy());

        Assert.Equal(VirtioEntropy.DefaultQueueSize, BringUp(VirtioFeature.Version1));
    }

    [Fact]
    public void VirtioRngFillsBuffersThroughAPackedRingAcrossSeveralWrapsWithInterrupts()
    {
        var source = new CountingEntropySource();
        var device = new VirtioEntropy(source);
        Attach(device);
        Assert.Equal((ushort)5, BringUp(Accepted));
        Assert.Equal(Accepted, device.NegotiatedFeatures);
        _driver.SetDriverEvent(PackedRing.EventFlagsEnable);

        var expected = new CountingEntropySource();
        for (int round = 0; round < 12; round++)
        {
            // Two buffers of two descriptors each into a ring of five: chains straddle the end of the ring.
            var buffers = Enumerable.Range(0, 2).Select(_ => (First: _driver.Writable(3), Second: _driver.Writable(5))).ToArray();
            var ids = buffers.Select(b => _driver.Post(b.First, b.Second)).ToArray();
            int edges = _intx.RisingEdges;
            NotifyQueue0();

            foreach (var (id, buffer) in ids.Zip(buffers))
            {
                var used = _driver.TakeUsed();
                Assert.NotNull(used);
                Assert.Equal(id, used.Value.Id);
                Assert.Equal(8u, used.Value.Length);
                var want = new byte[8];
                expected.Fill(want);
                Assert.Equal(want[..3], _driver.ReadBytes(buffer.First.Address, 3));
                Assert.Equal(want[3..], _driver.ReadBytes(buffer.Second.Address, 5));
            }
            Assert.Null(_driver.TakeUsed());
            Assert.True(_intx.RisingEdges > edges, $"round {round} interrupted the driver");
            // The ISR read acknowledges and lowers the line for the next round.
            Assert.Equal(1UL, ReadBar(VirtioPciLayout.IsrOffset, 1) & 1);
        }
        Assert.False(device.NeedsReset);
        Assert.Equal(0UL, ReadCommon(0x14, 1) & 0x40);
    }

    [Fact]
    public void TheDriverEventSuppressionStructureSilencesInterrupts()
    {
        var device = new VirtioEntropy(new CountingEntropySource());
        Attach(device);
        BringUp(Accepted);
        _driver.SetDriverEvent(PackedRing.EventFlagsDisable);

        _driver.Post(_driver.Writable(4));
        NotifyQueue0();

        Assert.NotNull(_driver.TakeUsed());
        Assert.Equal(0, _intx.RisingEdges);
        // Under EVENT_IDX the device asked for the notification of the next descriptor (position 1, wrap 1).
        Assert.Equal(PackedRing.EventFlagsDesc, _driver.DeviceEventFlags);
        Assert.Equal(PackedRing.EventWrapBit | 1, _driver.DeviceEventOffWrap);

        _driver.SetDriverEvent(PackedRing.EventFlagsDesc, offset: 1, wrap: true);
        _driver.Post(_driver.Writable(4));
        NotifyQueue0();
        Assert.Equal(1, _intx.RisingEdges);
    }

    [Fact]
    public void ABrokenPackedRingSetsDeviceNeedsResetAndTheDeviceStops()
    {
        var device = new VirtioEntropy(new CountingEntropySource());
        Attach(device);
        BringUp(Accepted);

        // Buffer id 7 in a ring of 5.
        _driver.PostWithId(7, _driver.Writable(4));
        NotifyQueue0();

        Assert.True(device.NeedsReset);
        Assert.Equal(QueueFault.BufferIdOutOfRange, device.GetQueueFault(0));
        Assert.Equal(0x40UL, ReadCommon(0x14, 1) & 0x40);
        Assert.Null(_driver.TakeUsed());
        // The configuration-change interrupt (ISR bit 1).
        Assert.Equal(2UL, ReadBar(VirtioPciLayout.IsrOffset, 1) & 2);
    }

    [Fact]
    public void VirtioBlockReadsAndWritesARealFileThroughAPackedRing()
    {
        var device = new VirtioBlock(new FileBlockBackend(_image.Handle, readOnly: false));
        Attach(device);
        BringUp(Accepted | BlockFeature.Flush);

        // Read sector 3: header, 512-byte data, status; an indirect one next, writing sector 5.
        var readHeader = _driver.Readable(BlockHeader(0, 3));
        var readData = _driver.Writable(512);
        var readStatus = _driver.Writable(1, 0xEE);
        ushort readId = _driver.Post(readHeader, readData, readStatus);
        var content = Enumerable.Range(0, 512).Select(i => (byte)(i ^ 0x5A)).ToArray();
        var writeStatus = _driver.Writable(1, 0xEE);
        ushort writeId = _driver.PostIndirect(_driver.Readable(BlockHeader(1, 5)), _driver.Readable(content), writeStatus);
        NotifyQueue0();

        var read = _driver.TakeUsed();
        Assert.Equal(readId, read!.Value.Id);
        Assert.Equal(513u, read.Value.Length);
        Assert.Equal(TemporaryDiskImage.Pattern(3 * 512, 512), _driver.ReadBytes(readData.Address, 512));
        Assert.Equal((byte)BlockStatus.Ok, _driver.ReadBytes(readStatus.Address, 1)[0]);
        var write = _driver.TakeUsed();
        Assert.Equal(writeId, write!.Value.Id);
        Assert.Equal((byte)BlockStatus.Ok, _driver.ReadBytes(writeStatus.Address, 1)[0]);
        Assert.Equal(content, _image.ReadBack(5 * 512, 512));
        Assert.False(device.NeedsReset);
    }

    private static byte[] BlockHeader(uint type, ulong sector)
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, type);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), sector);
        return bytes;
    }
}
