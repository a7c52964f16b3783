using System.Buffers.Binary;
using Ember.Devices.Tests.Fakes;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Block;
using Ember.Memory;
using Xunit;

namespace Ember.Devices.Tests.Virtio.Block;

/// <summary>VIRTIO_BLK_F_MQ (virtio 1.2 §5.2.3): num_queues request queues over one disk, each answered on its own ring.</summary>
public sealed class VirtioBlockMultiQueueTests : IDisposable
{
    private const byte Untouched = 0xEE;
    private const ulong Features = VirtqueueTestDriver.AllFeatures | BlockFeature.Flush | BlockFeature.MultiQueue;

    private readonly TemporaryDiskImage _image = new(64 * 512);
    private readonly ArrayGuestMemory _memory = ArrayGuestMemory.Create((GuestAddress.Zero, VirtqueueTestDriver.RamSize));
    private readonly RecordingVirtioInterrupt _interrupt = new();
    private readonly VirtqueueTestDriver _queue0;
    private readonly VirtqueueTestDriver _queue1;

    public VirtioBlockMultiQueueTests()
    {
        _queue0 = new VirtqueueTestDriver(16, _memory, 0x1_0000, 0x10_0000, 0x20_0000);
        _queue1 = new VirtqueueTestDriver(16, _memory, 0x2_0000, 0x20_0000, VirtqueueTestDriver.RamSize);
    }

    public void Dispose() => _image.Dispose();

    private static TestBuffer Header(VirtqueueTestDriver queue, uint type, ulong sector)
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, type);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), sector);
        return queue.Readable(bytes);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(8)]
    [InlineData(VirtioBlock.MaxQueues)]
    public void MoreThanOneQueueOffersMqAndReportsNumQueues(int queues)
    {
        var device = new VirtioBlock(new FileBlockBackend(_image.Handle, readOnly: false), queueCount: queues);
        var config = new byte[device.ConfigurationLength];
        device.ReadConfiguration(0, config);

        Assert.Equal(queues, device.QueueCount);
        Assert.NotEqual(0UL, device.OfferedFeatures & BlockFeature.MultiQueue);
        Assert.Equal((ushort)queues, BinaryPrimitives.ReadUInt16LittleEndian(config.AsSpan(BlockConfigurationLayout.NumQueues)));
        Assert.Equal(0, config[33]);   // unused0, between writeback and num_queues
    }

    [Fact]
    public void OneQueueOffersNoMq()
    {
        var device = new VirtioBlock(new FileBlockBackend(_image.Handle, readOnly: false));

        Assert.Equal(1, device.QueueCount);
        Assert.Equal(0UL, device.OfferedFeatures & BlockFeature.MultiQueue);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(VirtioBlock.MaxQueues + 1)]
    public void AQueueCountOutOfRangeIsRefused(int queues) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new VirtioBlock(new FileBlockBackend(_image.Handle, readOnly: false), queueCount: queues));

    [Fact]
    public void RequestsOnQueueOneCompleteOnQueueOneAndInterruptIt()
    {
        var device = new VirtioBlock(new FileBlockBackend(_image.Handle, readOnly: false), maxQueueSize: 16, queueCount: 2);
        device.Activate(new VirtioActivation(Features, _memory, [_queue0.Layout, _queue1.Layout], _interrupt));
        var payload = Enumerable.Range(0, 512).Select(i => (byte)(i * 3)).ToArray();
        var writeStatus = _queue1.Writable(1, Untouched);
        var data = _queue1.Writable(1024, Untouched);
        var readStatus = _queue1.Writable(1, Untouched);

        _queue1.Post(Header(_queue1, 1, 9), _queue1.Readable(payload), writeStatus);
        _queue1.Post(Header(_queue1, 0, 8), data, readStatus);
        device.Notify(1);

        Assert.Equal(2, _queue1.UsedIndex);
        Assert.Equal(0, _queue0.UsedIndex);
        Assert.Equal((byte)BlockStatus.Ok, _queue1.ReadBytes(writeStatus.Address, 1)[0]);
        Assert.Equal((byte)BlockStatus.Ok, _queue1.ReadBytes(readStatus.Address, 1)[0]);
        Assert.Equal(1025u, _queue1.Used(1).Length);
        Assert.Equal(TemporaryDiskImage.Pattern(8 * 512, 512).Concat(payload).ToArray(), _queue1.ReadBytes(data.Address, 1024));
        Assert.Equal(payload, _image.ReadBack(9 * 512, 512));
        Assert.Equal([1], _interrupt.QueueSignals);
    }

    [Fact]
    public void EachQueueIsDrainedOnlyByItsOwnNotification()
    {
        var device = new VirtioBlock(new FileBlockBackend(_image.Handle, readOnly: false), maxQueueSize: 16, queueCount: 2);
        device.Activate(new VirtioActivation(Features, _memory, [_queue0.Layout, _queue1.Layout], _interrupt));
        var status0 = _queue0.Writable(1, Untouched);
        var status1 = _queue1.Writable(1, Untouched);
        _queue0.Post(Header(_queue0, 4, 0), status0);
        _queue1.Post(Header(_queue1, 4, 0), status1);

        device.Notify(0);
        Assert.Equal(1, _queue0.UsedIndex);
        Assert.Equal(0, _queue1.UsedIndex);
        device.Notify(1);
        Assert.Equal(1, _queue0.UsedIndex);
        Assert.Equal(1, _queue1.UsedIndex);
        Assert.Equal([0, 1], _interrupt.QueueSignals);
        Assert.Equal(2, device.Flushes);
    }
}
