using System.Buffers.Binary;
using Ember.Devices.Tests.Virtio;
using Ember.Devices.Virtio.Block;
using Ember.Devices.Virtio.Queues;
using Ember.Memory;

namespace Ember.Bench.Block;

/// <summary>
/// The guest side of one virtio-blk request queue in array-backed guest memory, one request in flight: a fixed
/// three-descriptor chain (16-byte header, one data buffer of up to <see cref="MaxTransfer"/>, status byte) written
/// once, so each request costs the driver what a real one does: the header's type and sector, the data
/// descriptor's length and direction, an available-ring entry, then the notify. <see cref="Submit"/> returns once
/// the device has put the chain on the used ring and the status says OK.
/// </summary>
public sealed class BlockQueueHarness
{
    public const int MaxTransfer = 1 << 20;
    private const ushort QueueSize = 256;
    private const ushort HeaderDescriptor = 0;
    private const ushort DataDescriptor = 1;
    private const ushort StatusDescriptor = 2;

    /// <summary>Requests per notify in <see cref="SubmitBatch"/>, each in its own chain of three descriptors after the single chain's.</summary>
    public const int BatchDepth = 16;
    public const int MaxBatchTransfer = 64 * 1024;

    private readonly VirtqueueTestDriver _driver;
    private readonly ulong _header;
    private readonly ulong _status;
    private readonly ulong[] _batchHeaders = new ulong[BatchDepth];
    private readonly ulong[] _batchData = new ulong[BatchDepth];
    private readonly ulong[] _batchStatus = new ulong[BatchDepth];

    public BlockQueueHarness(IBlockBackend backend)
    {
        _driver = new VirtqueueTestDriver(QueueSize, ArrayGuestMemory.Create((GuestAddress.Zero, 4UL << 20)));
        _header = _driver.Allocate(16);
        Data = _driver.Allocate(MaxTransfer, 0x5A);
        _status = _driver.Allocate(1);
        _driver.WriteDescriptor(HeaderDescriptor, _header, 16, SplitRing.DescriptorNext, DataDescriptor);
        _driver.WriteDescriptor(StatusDescriptor, _status, 1, SplitRing.DescriptorWrite, 0);
        for (int i = 0; i < BatchDepth; i++)
        {
            _batchHeaders[i] = _driver.Allocate(16);
            _batchData[i] = _driver.Allocate(MaxBatchTransfer, 0x3C);
            _batchStatus[i] = _driver.Allocate(1);
            ushort first = BatchHead(i);
            _driver.WriteDescriptor(first, _batchHeaders[i], 16, SplitRing.DescriptorNext, (ushort)(first + 1));
            _driver.WriteDescriptor(first + 2, _batchStatus[i], 1, SplitRing.DescriptorWrite, 0);
        }
        Interrupt = new NullVirtioInterrupt();
        Device = new VirtioBlock(backend, "bench", QueueSize);
        // FLUSH negotiated: writes land in the page cache and are not fsync'd one by one, like pwrite.
        Device.Activate(new(VirtqueueTestDriver.AllFeatures | BlockFeature.Flush, _driver.Memory, [_driver.Layout], Interrupt));
    }

    public VirtioBlock Device { get; }

    public NullVirtioInterrupt Interrupt { get; }

    /// <summary>Guest address of the data buffer.</summary>
    public ulong Data { get; }

    public IGuestMemory Memory => _driver.Memory;

    /// <summary>The data buffer itself, for the raw baseline: pread/pwrite into the very guest memory the device uses.</summary>
    public Span<byte> DataSpan(int length) => _driver.Memory.GetSpan(new GuestAddress(Data), length);

    /// <summary>One IN (read) or OUT (write) of <paramref name="length"/> bytes at byte <paramref name="offset"/>, start to finish.</summary>
    public void Submit(bool write, long offset, uint length)
    {
        Post(write, offset, length);
        NotifyAndComplete();
    }

    /// <summary>
    /// Up to <see cref="BatchDepth"/> requests of <paramref name="length"/> bytes (at most <see cref="MaxBatchTransfer"/>)
    /// made available together and served by one notify, as a driver with several requests queued does.
    /// </summary>
    public void SubmitBatch(bool write, ReadOnlySpan<long> offsets, uint length)
    {
        Span<byte> header = stackalloc byte[16];
        ushort dataFlags = (ushort)(SplitRing.DescriptorNext | (write ? 0 : SplitRing.DescriptorWrite));
        for (int i = 0; i < offsets.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)(write ? BlockRequestType.Out : BlockRequestType.In));
            BinaryPrimitives.WriteUInt64LittleEndian(header[8..], (ulong)offsets[i] / 512);
            _driver.Memory.Write(new GuestAddress(_batchHeaders[i]), header);
            ushort first = BatchHead(i);
            _driver.WriteDescriptor(first + 1, _batchData[i], length, dataFlags, (ushort)(first + 2));
            _driver.Publish(first);
        }
        Device.Notify(0);
        if (_driver.UsedIndex != _driver.AvailIndex)
            throw new InvalidOperationException("the device did not complete the batch on notify");
        for (int i = 0; i < offsets.Length; i++)
        {
            byte status = _driver.Memory.ReadObject<byte>(new GuestAddress(_batchStatus[i]));
            if (status != (byte)BlockStatus.Ok)
                throw new InvalidOperationException($"request {i} of the batch failed with status {status}");
        }
    }

    private static ushort BatchHead(int i) => (ushort)(3 + (3 * i));

    /// <summary>The driver's part before the doorbell: header, data descriptor, available ring.</summary>
    public void Post(bool write, long offset, uint length)
    {
        Span<byte> header = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)(write ? BlockRequestType.Out : BlockRequestType.In));
        BinaryPrimitives.WriteUInt64LittleEndian(header[8..], (ulong)offset / 512);
        _driver.Memory.Write(new GuestAddress(_header), header);
        ushort dataFlags = (ushort)(SplitRing.DescriptorNext | (write ? 0 : SplitRing.DescriptorWrite));
        _driver.WriteDescriptor(DataDescriptor, Data, length, dataFlags, StatusDescriptor);
        _driver.Publish(HeaderDescriptor);
    }

    /// <summary>The doorbell, then the driver's check of the used ring and status: what notify-to-completion times.</summary>
    public void NotifyAndComplete()
    {
        Device.Notify(0);
        if (_driver.UsedIndex != _driver.AvailIndex)
            throw new InvalidOperationException("the device did not complete the request on notify");
        byte status = _driver.Memory.ReadObject<byte>(new GuestAddress(_status));
        if (status != (byte)BlockStatus.Ok)
            throw new InvalidOperationException($"the request failed with status {status}");
    }
}
