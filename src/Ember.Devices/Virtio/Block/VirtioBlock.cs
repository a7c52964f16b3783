using System.Buffers.Binary;
using System.Text;
using Ember.Devices.RateLimiting;
using Ember.Devices.Virtio.Queues;
using Ember.Memory;

namespace Ember.Devices.Virtio.Block;

/// <summary>
/// virtio-blk (virtio 1.2 §5.2, device ID 2) with one request queue over an <see cref="IBlockBackend"/>:
/// IN, OUT, FLUSH and GET_ID; other request types are answered VIRTIO_BLK_S_UNSUPP. Offers SEG_MAX, BLK_SIZE
/// (512), FLUSH, and RO for a read-only backend. Without FLUSH negotiated the cache is write-through: every
/// write is flushed before it completes.
/// </summary>
/// <remarks>
/// Threat model: the request header and every length come from the guest. All checks sit in
/// <see cref="Answer"/>: the header must be 16 readable bytes; the status is the last writable byte, and a
/// chain without one is dropped (used length 0) since there is nowhere to say anything; IN/OUT lengths are
/// whole sectors; sector × 512 + length must lie inside the disk, computed so that nothing overflows; OUT on a
/// read-only disk is IOERR. Data moves through one reused 64 KiB bounce buffer, so a request of any size
/// costs the host a bounded amount of memory. Backend I/O errors become IOERR; nothing here throws on guest
/// input. Used length = bytes the device wrote into the chain (data read and the status byte).
/// Every request passes the disk's <see cref="Limiter"/> (Firecracker's rate_limiter: one op, and its data
/// bytes as segment lengths say), which limits nothing until it is given buckets.
/// </remarks>
public sealed class VirtioBlock : VirtioQueueDevice
{
    public const ushort DefaultQueueSize = 256;

    /// <summary>Bytes moved per backend call; the bounce buffer's size.</summary>
    public const int TransferChunk = 64 * 1024;

    private IBlockBackend _backend;
    private readonly byte[] _configuration = new byte[BlockConfigurationLayout.Length];
    private readonly byte[] _id = new byte[BlockConfigurationLayout.IdLength];
    private readonly byte[] _bounce = new byte[TransferChunk];
    private ulong _capacitySectors;
    private bool _writeThrough = true;
    private long _backendErrors;
    private long _readBytes;
    private long _writtenBytes;
    private long _reads;
    private long _writes;
    private long _flushes;
    private readonly RateLimiter _limiter;

    /// <param name="serial">The disk's ID for GET_ID: printable ASCII, at most 20 characters (Linux shows it as /sys/block/vda/serial).</param>
    /// <exception cref="ArgumentException">The serial is too long or not printable ASCII.</exception>
    /// <param name="limiter">Meters the request queue; none (the default) is a limiter with no buckets, which PATCH can fill later.</param>
    public VirtioBlock(IBlockBackend backend, string serial = "", ushort maxQueueSize = DefaultQueueSize, RateLimiter? limiter = null)
        : base(VirtioDeviceType.Block, DeviceFeatures(backend), queueCount: 1, maxQueueSize)
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
        // An indirect table holds at most MaxQueueSize descriptors (see SplitVirtqueue); the header and status take two.
        BinaryPrimitives.WriteUInt32LittleEndian(_configuration.AsSpan(BlockConfigurationLayout.SegMax), (uint)(maxQueueSize - 2));
        BinaryPrimitives.WriteUInt32LittleEndian(_configuration.AsSpan(BlockConfigurationLayout.BlockSize), BlockConfigurationLayout.SectorSize);
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

    public override int ConfigurationLength => BlockConfigurationLayout.Length;

    private static ulong DeviceFeatures(IBlockBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ulong features = BlockFeature.SegMax | BlockFeature.BlockSize | BlockFeature.Flush;
        return backend.IsReadOnly ? features | BlockFeature.ReadOnly : features;
    }

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

    protected override void OnActivated(ulong features) => _writeThrough = (features & BlockFeature.Flush) == 0;

    protected override uint ProcessChain(int queue, DescriptorChain chain, IGuestMemory memory)
    {
        if (chain.WritableLength == 0)
        {
            // No status byte: the driver cannot be told anything, so the request is dropped.
            CountDropped();
            return 0;
        }
        var reader = new DescriptorChainReader(chain, memory);
        var writer = new DescriptorChainWriter(chain, memory);
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
            int chunk = (int)Math.Min(length - done, (uint)_bounce.Length);
            var bytes = _bounce.AsSpan(0, chunk);
            _backend.Read(offset + done, bytes);
            if (writer.Write(bytes) != chunk)
                return BlockStatus.IoError;
            done += (uint)chunk;
        }
        Interlocked.Increment(ref _reads);
        Interlocked.Add(ref _readBytes, length);
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
            int chunk = (int)Math.Min(length - done, (uint)_bounce.Length);
            var bytes = _bounce.AsSpan(0, chunk);
            if (reader.Read(bytes) != chunk)
                return BlockStatus.IoError;
            _backend.Write(offset + done, bytes);
            done += (uint)chunk;
        }
        if (_writeThrough)
            _backend.Flush();
        Interlocked.Increment(ref _writes);
        Interlocked.Add(ref _writtenBytes, length);
        return BlockStatus.Ok;
    }

    private BlockStatus Flush()
    {
        _backend.Flush();
        Interlocked.Increment(ref _flushes);
        return BlockStatus.Ok;
    }

    private BlockStatus WriteId(DescriptorChainWriter writer, uint dataCapacity)
    {
        int length = (int)Math.Min(dataCapacity, (uint)_id.Length);
        writer.Write(_id.AsSpan(0, length));
        return BlockStatus.Ok;
    }
}
