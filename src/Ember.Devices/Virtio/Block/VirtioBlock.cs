using System.Buffers.Binary;
using System.Text;
using Ember.Devices.RateLimiting;
using Ember.Devices.Virtio.Queues;
using Ember.Memory;

namespace Ember.Devices.Virtio.Block;

/// <summary>
/// virtio-blk (virtio 1.2 §5.2, device ID 2) with one or more request queues over an <see cref="IBlockBackend"/>:
/// IN, OUT, FLUSH, GET_ID, and on a writable disk DISCARD and WRITE_ZEROES; other request types (and those two
/// when not negotiated) are answered VIRTIO_BLK_S_UNSUPP. Offers SEG_MAX, BLK_SIZE (512), FLUSH, MQ with more
/// than one queue, RO for a read-only backend and DISCARD and WRITE_ZEROES for a writable one. Without FLUSH
/// negotiated the cache is write-through: every write is flushed before it completes.
/// </summary>
/// <remarks>
/// Threat model: the request header and every length come from the guest. All checks sit in
/// <see cref="Answer"/>: the header must be 16 readable bytes; the status is the last writable byte, and a
/// chain without one is dropped (used length 0) since there is nowhere to say anything; IN/OUT lengths are
/// whole sectors; sector × 512 + length must lie inside the disk, computed so that nothing overflows; OUT on a
/// read-only disk is IOERR. Data moves between the backend and the guest's buffers in place (pread/pwrite on
/// spans of guest RAM, one per segment and memory region, none outliving its call: the bytes are data, never parsed,
/// so a guest changing them meanwhile changes only what it reads or writes), which costs the host no memory and no
/// copy; one reused 64 KiB bounce buffer remains for a segment that yields no span, so any request stays bounded. Backend I/O errors become IOERR; nothing here throws on guest
/// input. Used length = bytes the device wrote into the chain (data read and the status byte).
/// DISCARD and WRITE_ZEROES carry 16-byte segments: at most <see cref="MaxRangeSegments"/> of them (copied into a
/// fixed buffer), each at most its request's max_*_sectors long and inside the disk, with no flag but unmap (and
/// unmap only on WRITE_ZEROES) or the request is UNSUPP (§5.2.6.2). Every segment is checked before any is
/// carried out, so a bad request changes nothing. All queues share the device lock, the bounce buffer and the
/// limiter; each queue has its own doorbell.
/// Every request passes the disk's <see cref="Limiter"/> (Firecracker's rate_limiter: one op, and its data
/// bytes as segment lengths say), which limits nothing until it is given buckets.
/// </remarks>
public sealed class VirtioBlock : VirtioQueueDevice
{
    public const ushort DefaultQueueSize = 256;

    /// <summary>The bounce buffer's size: bytes per backend call where a transfer cannot go in place.</summary>
    public const int TransferChunk = 64 * 1024;

    /// <summary>
    /// The most request queues (VIRTIO_BLK_F_MQ's num_queues) a disk may have. One per vCPU is the use, but every queue
    /// costs an MSI-X vector, so a GSI in KVM's 4096-entry routing table: 31 disks of 64 queues still fit.
    /// </summary>
    public const int MaxQueues = 64;

    /// <summary>max_discard_seg and max_write_zeroes_seg: segments per request, so 512 bytes of them at most.</summary>
    public const int MaxRangeSegments = 32;

    /// <summary>max_discard_sectors: 2 GiB per segment; punching a hole costs the host no data movement.</summary>
    public const uint MaxDiscardSectors = 1u << 22;

    /// <summary>
    /// max_write_zeroes_sectors: 32 MiB per segment, because a file system that cannot zero a range makes the device
    /// write the zeroes, and one request must not hold the disk for long.
    /// </summary>
    public const uint MaxWriteZeroesSectors = 1u << 16;

    /// <summary>discard_sector_alignment: 4 KiB, the block size of the file systems images live on (a hint only).</summary>
    public const uint DiscardSectorAlignment = 8;

    private IBlockBackend _backend;
    private readonly byte[] _configuration = new byte[BlockConfigurationLayout.Length];
    private readonly byte[] _id = new byte[BlockConfigurationLayout.IdLength];
    private readonly byte[] _bounce = new byte[TransferChunk];
    private readonly byte[] _segments = new byte[MaxRangeSegments * BlockConfigurationLayout.RangeSegmentSize];
    private ulong _negotiated;
    private ulong _capacitySectors;
    private bool _writeThrough = true;
    private long _backendErrors;
    private long _readBytes;
    private long _writtenBytes;
    private long _reads;
    private long _writes;
    private long _flushes;
    private long _discards;
    private long _zeroWrites;
    private readonly RateLimiter _limiter;
    private DescriptorChainReader? _reader;
    private DescriptorChainWriter? _writer;

    /// <param name="serial">The disk's ID for GET_ID: printable ASCII, at most 20 characters (Linux shows it as /sys/block/vda/serial).</param>
    /// <exception cref="ArgumentException">The serial is too long or not printable ASCII.</exception>
    /// <param name="limiter">Meters the request queues; none (the default) is a limiter with no buckets, which PATCH can fill later.</param>
    /// <param name="queueCount">Request queues (1 to <see cref="MaxQueues"/>); more than one offers VIRTIO_BLK_F_MQ.</param>
    /// <exception cref="ArgumentOutOfRangeException">The queue count is out of range.</exception>
    public VirtioBlock(IBlockBackend backend, string serial = "", ushort maxQueueSize = DefaultQueueSize, RateLimiter? limiter = null, int queueCount = 1)
        : base(VirtioDeviceType.Block, DeviceFeatures(backend, queueCount), CheckedQueueCount(queueCount), maxQueueSize)
    {
        _limiter = limiter ?? new RateLimiter();
        ArgumentNullException.ThrowIfNull(serial);
        if (serial.Length > BlockConfigurationLayout.IdLength || serial.Any(c => c < 0x20 || c > 0x7E))
            throw new ArgumentException($"the disk serial '{serial}' must be at most {BlockConfigurationLayout.IdLength} printable ASCII characters", nameof(serial));
        _backend = backend;
        // Shorter than 20 bytes: NUL-padded, which also terminates it (virtio 1.2 §5.2.6).
        Encoding.ASCII.GetBytes(serial, _id);
        _capacitySectors = backend.Length / BlockConfigurationLayout.SectorSize;

        BinaryPrimitives.WriteUInt64LittleEndian(_configuration.AsSpan(BlockConfigurationLayout.Capacity), _capacitySectors);
        // An indirect table holds at most MaxQueueSize descriptors (see SplitVirtqueue, PackedVirtqueue); the header and status take two.
        BinaryPrimitives.WriteUInt32LittleEndian(_configuration.AsSpan(BlockConfigurationLayout.SegMax), (uint)(maxQueueSize - 2));
        BinaryPrimitives.WriteUInt32LittleEndian(_configuration.AsSpan(BlockConfigurationLayout.BlockSize), BlockConfigurationLayout.SectorSize);
        BinaryPrimitives.WriteUInt16LittleEndian(_configuration.AsSpan(BlockConfigurationLayout.NumQueues), (ushort)queueCount);
        if (!backend.IsReadOnly)
        {
            var config = _configuration.AsSpan();
            BinaryPrimitives.WriteUInt32LittleEndian(config[BlockConfigurationLayout.MaxDiscardSectors..], MaxDiscardSectors);
            BinaryPrimitives.WriteUInt32LittleEndian(config[BlockConfigurationLayout.MaxDiscardSegments..], MaxRangeSegments);
            BinaryPrimitives.WriteUInt32LittleEndian(config[BlockConfigurationLayout.DiscardSectorAlignment..], DiscardSectorAlignment);
            BinaryPrimitives.WriteUInt32LittleEndian(config[BlockConfigurationLayout.MaxWriteZeroesSectors..], MaxWriteZeroesSectors);
            BinaryPrimitives.WriteUInt32LittleEndian(config[BlockConfigurationLayout.MaxWriteZeroesSegments..], MaxRangeSegments);
            // An unmapping write-zeroes may punch a hole, so it can free storage (§5.2.6.2: cleared only if it never can).
            config[BlockConfigurationLayout.WriteZeroesMayUnmap] = 1;
        }
    }

    /// <summary>Disk size in 512-byte sectors, as the configuration reports it.</summary>
    public ulong CapacitySectors => Volatile.Read(ref _capacitySectors);

    /// <summary>
    /// Puts another backing store under the running disk (Firecracker's PATCH /drives path_on_host) and returns
    /// the old one for the caller to close. No request is answered while it happens; the capacity follows the new
    /// store, and the driver gets a configuration-change interrupt (Linux then re-reads the capacity). Read-only
    /// and read-write cannot be swapped for each other: VIRTIO_BLK_F_RO was fixed when the driver negotiated.
    /// </summary>
    /// <exception cref="ArgumentException">The new store differs from the old in being read-only.</exception>
    public IBlockBackend ReplaceBackend(IBlockBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        IBlockBackend? old = null;
        ChangeConfiguration(() =>
        {
            if (backend.IsReadOnly != _backend.IsReadOnly)
                throw new ArgumentException($"the new backing store is {(backend.IsReadOnly ? "read-only" : "writable")} but the disk was offered {(_backend.IsReadOnly ? "read-only" : "writable")}", nameof(backend));
            old = _backend;
            _backend = backend;
            Volatile.Write(ref _capacitySectors, backend.Length / BlockConfigurationLayout.SectorSize);
            BinaryPrimitives.WriteUInt64LittleEndian(_configuration.AsSpan(BlockConfigurationLayout.Capacity), _capacitySectors);
        });
        return old!;
    }

    /// <summary>The request queue's rate limiter (buckets can be replaced while the disk runs).</summary>
    public RateLimiter Limiter => _limiter;

    protected override RateLimiter LimiterFor(int queue) => _limiter;

    /// <summary>The data a request moves: what follows the 16-byte header, and what precedes the status byte.</summary>
    protected override ulong ChargedBytes(int queue, DescriptorChain chain)
    {
        const uint header = BlockConfigurationLayout.RequestHeaderSize;
        ulong read = chain.ReadableLength > header ? chain.ReadableLength - header : 0;
        ulong written = chain.WritableLength > 0 ? chain.WritableLength - 1 : 0;
        return read + written;
    }

    /// <summary>Requests answered IOERR because the backend failed (not because the request was bad).</summary>
    public long BackendErrors => Interlocked.Read(ref _backendErrors);

    /// <summary>Bytes the guest read from the disk (answered IN requests).</summary>
    public long ReadBytes => Interlocked.Read(ref _readBytes);

    /// <summary>Bytes the guest wrote to the disk (answered OUT requests).</summary>
    public long WrittenBytes => Interlocked.Read(ref _writtenBytes);

    /// <summary>IN requests answered OK.</summary>
    public long Reads => Interlocked.Read(ref _reads);

    /// <summary>OUT requests answered OK.</summary>
    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>FLUSH requests answered OK.</summary>
    public long Flushes => Interlocked.Read(ref _flushes);

    /// <summary>DISCARD requests answered OK.</summary>
    public long Discards => Interlocked.Read(ref _discards);

    /// <summary>WRITE_ZEROES requests answered OK.</summary>
    public long ZeroWrites => Interlocked.Read(ref _zeroWrites);

    public override int ConfigurationLength => BlockConfigurationLayout.Length;

    private static ulong DeviceFeatures(IBlockBackend backend, int queueCount)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ulong features = BlockFeature.SegMax | BlockFeature.BlockSize | BlockFeature.Flush;
        if (queueCount > 1)
            features |= BlockFeature.MultiQueue;
        // Discarding and zeroing change the disk, so a read-only one offers neither.
        return backend.IsReadOnly ? features | BlockFeature.ReadOnly : features | BlockFeature.Discard | BlockFeature.WriteZeroes;
    }

    private static int CheckedQueueCount(int queueCount) =>
        queueCount is >= 1 and <= MaxQueues
            ? queueCount
            : throw new ArgumentOutOfRangeException(nameof(queueCount), queueCount, $"a disk has 1 to {MaxQueues} request queues");

    public override void ReadConfiguration(int offset, Span<byte> data)
    {
        // The transport keeps offset and length inside ConfigurationLength; clamp anyway rather than throw.
        data.Clear();
        if ((uint)offset < (uint)_configuration.Length)
        {
            var source = _configuration.AsSpan(offset);
            source[..Math.Min(source.Length, data.Length)].CopyTo(data);
        }
    }

    /// <summary>Nothing is writable without CONFIG_WCE (not offered); writes are dropped.</summary>
    public override void WriteConfiguration(int offset, ReadOnlySpan<byte> data)
    {
    }

    protected override void OnActivated(ulong features)
    {
        _negotiated = features;
        _writeThrough = (features & BlockFeature.Flush) == 0;
    }

    protected override uint ProcessChain(int queue, DescriptorChain chain, IGuestMemory memory)
    {
        if (chain.WritableLength == 0)
        {
            // No status byte: the driver cannot be told anything, so the request is dropped.
            CountDropped();
            return 0;
        }
        // One reader and one writer for every request (ProcessChain runs alone, under the device lock).
        var reader = _reader ??= new DescriptorChainReader(chain, memory);
        var writer = _writer ??= new DescriptorChainWriter(chain, memory);
        reader.Reset(chain, memory);
        writer.Reset(chain, memory);
        uint dataCapacity = chain.WritableLength - 1;
        var status = Answer(reader, writer, dataCapacity);
        // The status goes in the last writable byte whatever came before it.
        writer.Skip(dataCapacity - writer.Position);
        writer.Write([(byte)status]);
        return writer.BytesWritten;
    }

    private BlockStatus Answer(DescriptorChainReader reader, DescriptorChainWriter writer, uint dataCapacity)
    {
        Span<byte> header = stackalloc byte[BlockConfigurationLayout.RequestHeaderSize];
        if (!reader.TryReadExact(header))
            return BlockStatus.IoError;
        var type = (BlockRequestType)BinaryPrimitives.ReadUInt32LittleEndian(header);
        ulong sector = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
        try
        {
            return type switch
            {
                BlockRequestType.In => ReadSectors(sector, writer, dataCapacity),
                BlockRequestType.Out => WriteSectors(sector, reader),
                BlockRequestType.Flush => Flush(),
                BlockRequestType.GetId => WriteId(writer, dataCapacity),
                BlockRequestType.Discard when (_negotiated & BlockFeature.Discard) != 0 => ChangeRanges(type, reader),
                BlockRequestType.WriteZeroes when (_negotiated & BlockFeature.WriteZeroes) != 0 => ChangeRanges(type, reader),
                _ => BlockStatus.Unsupported,
            };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException or NotSupportedException)
        {
            Interlocked.Increment(ref _backendErrors);
            return BlockStatus.IoError;
        }
    }

    /// <summary>
    /// The byte offset of a whole-sector transfer of <paramref name="length"/> bytes at <paramref name="sector"/>,
    /// or false when it is not whole sectors or does not lie inside the disk. Compared in sectors, so no product
    /// or sum can overflow.
    /// </summary>
    private bool TryLocate(ulong sector, uint length, out ulong offset)
    {
        offset = 0;
        if (length % BlockConfigurationLayout.SectorSize != 0)
            return false;
        ulong sectors = length / BlockConfigurationLayout.SectorSize;
        if (sector > _capacitySectors || sectors > _capacitySectors - sector)
            return false;
        // sector ≤ capacity = backend length / 512, so this product fits.
        offset = sector * BlockConfigurationLayout.SectorSize;
        return true;
    }

    private BlockStatus ReadSectors(ulong sector, DescriptorChainWriter writer, uint length)
    {
        if (!TryLocate(sector, length, out ulong offset))
            return BlockStatus.IoError;
        uint done = 0;
        while (done < length)
        {
            // Straight into the guest's buffer where it is one stretch of RAM (one pread, no copy); else the bounce buffer.
            var target = writer.NextInPlace(length - done);
            if (!target.IsEmpty)
            {
                _backend.Read(offset + done, target);
                writer.Advance((uint)target.Length);
                done += (uint)target.Length;
                continue;
            }
            int chunk = (int)Math.Min(length - done, (uint)_bounce.Length);
            var bytes = _bounce.AsSpan(0, chunk);
            _backend.Read(offset + done, bytes);
            if (writer.Write(bytes) != chunk)
                return BlockStatus.IoError;
            done += (uint)chunk;
        }
        // Under the device lock, so one writer at a time: a plain store (a 64-bit store does not tear on x64) instead of a
        // locked add, which costs a full barrier on every request; readers elsewhere read them atomically.
        Volatile.Write(ref _reads, _reads + 1);
        Volatile.Write(ref _readBytes, _readBytes + length);
        return BlockStatus.Ok;
    }

    private BlockStatus WriteSectors(ulong sector, DescriptorChainReader reader)
    {
        // A write to a read-only disk fails whatever else is wrong with it (virtio 1.2 §5.2.6).
        if (_backend.IsReadOnly)
            return BlockStatus.IoError;
        uint length = reader.Remaining;
        if (!TryLocate(sector, length, out ulong offset))
            return BlockStatus.IoError;
        uint done = 0;
        while (done < length)
        {
            // Straight from the guest's buffer where it is one stretch of RAM (one pwrite, no copy); else the bounce buffer.
            var source = reader.NextInPlace(length - done);
            if (!source.IsEmpty)
            {
                _backend.Write(offset + done, source);
                reader.Advance((uint)source.Length);
                done += (uint)source.Length;
                continue;
            }
            int chunk = (int)Math.Min(length - done, (uint)_bounce.Length);
            var bytes = _bounce.AsSpan(0, chunk);
            if (reader.Read(bytes) != chunk)
                return BlockStatus.IoError;
            _backend.Write(offset + done, bytes);
            done += (uint)chunk;
        }
        if (_writeThrough)
            _backend.Flush();
        // Under the device lock: plain stores, as for reads.
        Volatile.Write(ref _writes, _writes + 1);
        Volatile.Write(ref _writtenBytes, _writtenBytes + length);
        return BlockStatus.Ok;
    }

    private BlockStatus Flush()
    {
        _backend.Flush();
        Interlocked.Increment(ref _flushes);
        return BlockStatus.Ok;
    }

    /// <summary>
    /// DISCARD or WRITE_ZEROES: reads every segment into <see cref="_segments"/>, checks them all (flags first, so an
    /// unknown flag is UNSUPP whatever else is wrong, §5.2.6.2), then carries them out in order.
    /// </summary>
    private BlockStatus ChangeRanges(BlockRequestType type, DescriptorChainReader reader)
    {
        // Neither is offered on a read-only disk; a driver that sends one anyway is refused as a write would be.
        if (_backend.IsReadOnly)
            return BlockStatus.IoError;
        const int segmentSize = BlockConfigurationLayout.RangeSegmentSize;
        uint length = reader.Remaining;
        if (length == 0 || length % segmentSize != 0 || length / segmentSize > MaxRangeSegments)
            return BlockStatus.IoError;
        var segments = _segments.AsSpan(0, (int)length);
        if (reader.Read(segments) != length)
            return BlockStatus.IoError;
        int count = (int)(length / segmentSize);
        bool discard = type == BlockRequestType.Discard;
        uint allowedFlags = discard ? 0 : BlockConfigurationLayout.RangeFlagUnmap;
        for (int i = 0; i < count; i++)
        {
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(segments[(i * segmentSize + 12)..]);
            if ((flags & ~allowedFlags) != 0)
                return BlockStatus.Unsupported;
        }
        uint maxSectors = discard ? MaxDiscardSectors : MaxWriteZeroesSectors;
        for (int i = 0; i < count; i++)
        {
            var segment = segments.Slice(i * segmentSize, segmentSize);
            ulong sector = BinaryPrimitives.ReadUInt64LittleEndian(segment);
            uint sectors = BinaryPrimitives.ReadUInt32LittleEndian(segment[8..]);
            // In sectors, as TryLocate does, so nothing overflows.
            if (sectors > maxSectors || sector > _capacitySectors || sectors > _capacitySectors - sector)
                return BlockStatus.IoError;
        }
        for (int i = 0; i < count; i++)
        {
            var segment = segments.Slice(i * segmentSize, segmentSize);
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(segment) * BlockConfigurationLayout.SectorSize;
            ulong bytes = (ulong)BinaryPrimitives.ReadUInt32LittleEndian(segment[8..]) * BlockConfigurationLayout.SectorSize;
            bool unmap = (BinaryPrimitives.ReadUInt32LittleEndian(segment[12..]) & BlockConfigurationLayout.RangeFlagUnmap) != 0;
            if (discard)
                _backend.Discard(offset, bytes);
            else
                _backend.WriteZeroes(offset, bytes, unmap);
        }
        if (_writeThrough)
            _backend.Flush();
        Interlocked.Increment(ref discard ? ref _discards : ref _zeroWrites);
        return BlockStatus.Ok;
    }

    private BlockStatus WriteId(DescriptorChainWriter writer, uint dataCapacity)
    {
        int length = (int)Math.Min(dataCapacity, (uint)_id.Length);
        writer.Write(_id.AsSpan(0, length));
        return BlockStatus.Ok;
    }
}
