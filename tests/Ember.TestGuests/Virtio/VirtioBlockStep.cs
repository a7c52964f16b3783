namespace Ember.TestGuests.Virtio;

/// <summary>
/// One step of a <see cref="VirtioBlockGuestProgram"/>: <see cref="Count"/> requests of one kind, one at a time,
/// the n-th at <see cref="Sector"/> + n × <see cref="SectorStride"/>, each through the guest's single data buffer.
/// </summary>
/// <param name="Kind">The request type.</param>
/// <param name="Queue">The queue the step's requests go on.</param>
/// <param name="RangeSectors">For DISCARD and WRITE_ZEROES: the segment's num_sectors.</param>
/// <param name="RangeFlags">For DISCARD and WRITE_ZEROES: the segment's flags (bit 0 unmap; the rest reserved).</param>
/// <param name="Sector">The first request's sector (ignored by the device for FLUSH and GET_ID; the segment's sector for DISCARD and WRITE_ZEROES).</param>
/// <param name="Length">Bytes per request: whole sectors for reads and writes, 0 for FLUSH, 20 for GET_ID, one 16-byte segment for DISCARD and WRITE_ZEROES.</param>
/// <param name="Count">How many requests the step makes.</param>
/// <param name="SectorStride">Sectors between consecutive requests; null means right after the previous one (Length / 512).</param>
/// <param name="Checksum">For reads: fold every byte read into the step's checksum (<see cref="VirtioBlockChecksum"/>), printed on COM1.</param>
/// <param name="FillSeed">For writes: before each request, fill the buffer with dwords seed, seed + 1, …; null writes the buffer as it is (what the last read left there).</param>
/// <param name="ExpectedStatus">The status byte each request must end with (0 OK, 1 IOERR, 2 UNSUPP).</param>
/// <param name="SpreadBuffer">
/// For reads and writes: request n uses the data buffer from n × Length on, so after a read step everything it read
/// lies in guest memory in order (for a host that compares it there instead of paying for a guest checksum, which
/// a software KVM runs in its instruction emulator at about a microsecond per instruction).
/// </param>
public sealed record VirtioBlockStep(
    VirtioBlockStepKind Kind,
    ulong Sector,
    uint Length,
    uint Count = 1,
    ulong? SectorStride = null,
    bool Checksum = true,
    uint? FillSeed = null,
    byte ExpectedStatus = 0,
    bool SpreadBuffer = false,
    ushort Queue = 0,
    uint RangeSectors = 0,
    uint RangeFlags = 0)
{
    public const uint SectorSize = 512;

    /// <summary>The serial's size in a GET_ID answer (virtio 1.2 §5.2.6: 20 bytes, NUL-padded).</summary>
    public const uint IdLength = 20;

    /// <summary>struct virtio_blk_discard_write_zeroes: le64 sector, le32 num_sectors, le32 flags.</summary>
    public const uint SegmentLength = 16;

    public static VirtioBlockStep Read(ulong sector, uint length, uint count = 1, bool checksum = true, ulong? sectorStride = null, bool spreadBuffer = false, ushort queue = 0) =>
        new(VirtioBlockStepKind.Read, sector, length, count, sectorStride, checksum, SpreadBuffer: spreadBuffer, Queue: queue);

    public static VirtioBlockStep Write(ulong sector, uint length, uint? fillSeed, uint count = 1, ulong? sectorStride = null, byte expectedStatus = 0, ushort queue = 0) =>
        new(VirtioBlockStepKind.Write, sector, length, count, sectorStride, Checksum: false, fillSeed, expectedStatus, Queue: queue);

    public static VirtioBlockStep Flush(ushort queue = 0) => new(VirtioBlockStepKind.Flush, 0, 0, Checksum: false, Queue: queue);

    public static VirtioBlockStep GetId(ushort queue = 0) => new(VirtioBlockStepKind.GetId, 0, IdLength, Checksum: false, Queue: queue);

    /// <summary>DISCARD of <paramref name="sectors"/> sectors from <paramref name="sector"/>, one segment per request.</summary>
    public static VirtioBlockStep Discard(ulong sector, uint sectors, uint flags = 0, byte expectedStatus = 0, ushort queue = 0) =>
        new(VirtioBlockStepKind.Discard, sector, SegmentLength, Checksum: false, ExpectedStatus: expectedStatus, Queue: queue, RangeSectors: sectors, RangeFlags: flags);

    /// <summary>WRITE_ZEROES of <paramref name="sectors"/> sectors from <paramref name="sector"/>; <paramref name="unmap"/> lets the device free them.</summary>
    public static VirtioBlockStep WriteZeroes(ulong sector, uint sectors, bool unmap = false, byte expectedStatus = 0, ushort queue = 0) =>
        new(VirtioBlockStepKind.WriteZeroes, sector, SegmentLength, Checksum: false, ExpectedStatus: expectedStatus, Queue: queue, RangeSectors: sectors, RangeFlags: unmap ? 1u : 0u);

    /// <summary>Sectors between consecutive requests.</summary>
    public ulong Stride => SectorStride ?? (IsRange ? RangeSectors : Length / SectorSize);

    /// <summary>DISCARD or WRITE_ZEROES: the data is one device-readable segment the guest writes.</summary>
    internal bool IsRange => Kind is VirtioBlockStepKind.Discard or VirtioBlockStepKind.WriteZeroes;

    /// <summary>Whether the data descriptor is device-writable (the device fills it).</summary>
    internal bool DeviceWritesData => Kind is VirtioBlockStepKind.Read or VirtioBlockStepKind.GetId;

    /// <summary>Null when the step can be assembled, else why not.</summary>
    internal string? Problem(uint dataBufferSize)
    {
        if (Count == 0)
            return "a step makes at least one request";
        if (Length > dataBufferSize)
            return $"{Length} bytes do not fit the {dataBufferSize}-byte data buffer";
        if (SpreadBuffer && Kind is not (VirtioBlockStepKind.Read or VirtioBlockStepKind.Write))
            return "only reads and writes spread over the data buffer";
        if (SpreadBuffer && (ulong)Length * Count > dataBufferSize)
            return $"{Count} requests of {Length} bytes spread over the buffer need {(ulong)Length * Count} bytes, more than its {dataBufferSize}";
        return Kind switch
        {
            VirtioBlockStepKind.Read or VirtioBlockStepKind.Write when Length == 0 || Length % SectorSize != 0 =>
                $"a {Kind} moves whole sectors, not {Length} bytes",
            VirtioBlockStepKind.Flush when Length != 0 => "a flush carries no data",
            VirtioBlockStepKind.GetId when Length != IdLength => $"GET_ID answers {IdLength} bytes",
            VirtioBlockStepKind.Discard or VirtioBlockStepKind.WriteZeroes when Length != SegmentLength => $"a {Kind} carries one {SegmentLength}-byte segment",
            _ => null,
        };
    }
}
