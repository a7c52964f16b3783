using System.Buffers.Binary;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Queues;
using Ember.Memory;

namespace Ember.Devices.Tests.Virtio;

/// <summary>
/// The driver side of one packed virtqueue (virtio 1.2 §2.8), for tests: lays the descriptor ring and the two event
/// suppression structures out in an <see cref="ArrayGuestMemory"/>, keeps the Driver Ring Wrap Counter, writes chains
/// (first descriptor's flags last, buffer id in every descriptor as Linux does) and reads used descriptors back,
/// skipping each buffer's descriptors as the spec's driver does.
/// </summary>
public sealed class PackedQueueTestDriver
{
    public const ulong RingArea = 0x1_0000;
    public const ulong RamSize = 0x40_0000;
    private const ulong DataStart = 0x10_0000;

    private readonly Dictionary<ushort, int> _descriptorsById = [];
    private readonly ulong _dataEnd;
    private ulong _nextData;
    private ushort _nextId;

    /// <summary>A ring at <paramref name="ringArea"/> with its buffers in [dataStart, dataEnd), so several queues can share one memory.</summary>
    public PackedQueueTestDriver(ushort size = 8, ArrayGuestMemory? memory = null, ulong ringArea = RingArea, ulong dataStart = DataStart, ulong dataEnd = RamSize)
    {
        Size = size;
        _nextData = dataStart;
        _dataEnd = dataEnd;
        Memory = memory ?? ArrayGuestMemory.Create((GuestAddress.Zero, RamSize));
        ulong driverEvent = ringArea + PackedRing.DescriptorRingSize(size);
        Layout = new VirtqueueLayout(size, ringArea, driverEvent, driverEvent + PackedRing.EventSuppressionSize);
    }

    public const ulong AllFeatures = VirtioFeature.Version1 | VirtioFeature.IndirectDescriptors | VirtioFeature.EventIndex | VirtioFeature.RingPacked;

    public ushort Size { get; }

    public ArrayGuestMemory Memory { get; }

    public VirtqueueLayout Layout { get; }

    /// <summary>Where the next descriptor goes, and the Driver Ring Wrap Counter there.</summary>
    public ushort NextAvail { get; private set; }

    public bool AvailWrap { get; private set; } = true;

    /// <summary>Where the next used descriptor is expected, and the wrap counter it should carry.</summary>
    public ushort NextUsed { get; private set; }

    public bool UsedWrap { get; private set; } = true;

    public PackedVirtqueue CreateQueue(ulong features = AllFeatures, ushort maxSize = PackedRing.MaxQueueSize) =>
        new(Layout, Memory, features, maxSize);

    public ulong Allocate(uint length, byte fill = 0)
    {
        ulong address = _nextData;
        _nextData = (_nextData + Math.Max(length, 1) + 15) & ~15UL;
        if (_nextData > _dataEnd)
            throw new InvalidOperationException("test driver ran out of data space");
        var bytes = new byte[length];
        bytes.AsSpan().Fill(fill);
        Memory.Write(new GuestAddress(address), bytes);
        return address;
    }

    public TestBuffer Readable(ReadOnlySpan<byte> content)
    {
        ulong address = Allocate((uint)content.Length);
        Memory.Write(new GuestAddress(address), content);
        return new TestBuffer(address, (uint)content.Length, false);
    }

    public TestBuffer Writable(uint length, byte fill = 0xEE) => new(Allocate(length, fill), length, true);

    public byte[] ReadBytes(ulong address, int length)
    {
        var bytes = new byte[length];
        Memory.Read(new GuestAddress(address), bytes);
        return bytes;
    }

    /// <summary>The AVAIL/USED bits that make a descriptor available under wrap counter <paramref name="wrap"/>.</summary>
    public static ushort AvailableBits(bool wrap) => wrap ? PackedRing.DescriptorAvail : PackedRing.DescriptorUsed;

    /// <summary>Writes <paramref name="buffers"/> as a chain at the next positions and exposes it; returns its buffer id.</summary>
    public ushort Post(params TestBuffer[] buffers) => PostWithId(NextFreeId(), buffers);

    public ushort PostWithId(ushort id, params TestBuffer[] buffers)
    {
        if (buffers.Length == 0)
            throw new ArgumentException("a chain needs a buffer", nameof(buffers));
        var descriptors = buffers.Select((b, i) => (b.Address, b.Length, (ushort)((b.Writable ? PackedRing.DescriptorWrite : 0) | (i < buffers.Length - 1 ? PackedRing.DescriptorNext : 0)))).ToArray();
        PostRaw(id, descriptors);
        return id;
    }

    /// <summary>One ring descriptor with INDIRECT pointing at a table of <paramref name="buffers"/>; returns its buffer id.</summary>
    public ushort PostIndirect(params TestBuffer[] buffers)
    {
        ulong table = WriteIndirectTable(buffers.Select(b => (b.Address, b.Length, b.Writable ? PackedRing.DescriptorWrite : (ushort)0)).ToArray());
        ushort id = NextFreeId();
        PostRaw(id, [(table, (uint)(buffers.Length * PackedRing.DescriptorSize), PackedRing.DescriptorIndirect)]);
        return id;
    }

    public ulong WriteIndirectTable((ulong Address, uint Length, ushort Flags)[] entries)
    {
        ulong table = Allocate((uint)(entries.Length * PackedRing.DescriptorSize));
        for (int i = 0; i < entries.Length; i++)
            WriteDescriptor(table + ((ulong)i * PackedRing.DescriptorSize), entries[i].Address, entries[i].Length, 0xBEEF, entries[i].Flags);
        return table;
    }

    /// <summary>
    /// Writes descriptors (flags without AVAIL/USED, which are added for the wrap counter at each position) from the
    /// next position on, the first one's flags last, and remembers how many ring slots <paramref name="id"/> took.
    /// </summary>
    public void PostRaw(ushort id, (ulong Address, uint Length, ushort Flags)[] descriptors)
    {
        ushort first = NextAvail;
        ushort firstFlags = 0;
        for (int i = 0; i < descriptors.Length; i++)
        {
            ushort flags = (ushort)(descriptors[i].Flags | AvailableBits(AvailWrap));
            ulong at = Layout.DescriptorArea + ((ulong)NextAvail * PackedRing.DescriptorSize);
            WriteDescriptor(at, descriptors[i].Address, descriptors[i].Length, id, i == 0 ? (ushort)0 : flags);
            if (i == 0)
            {
                // The slot keeps its old flags (still not available) until the whole chain is written.
                WriteUInt16(at + PackedRing.FlagsOffset, ReadFlags(first));
                firstFlags = flags;
            }
            if (++NextAvail == Size)
            {
                NextAvail = 0;
                AvailWrap = !AvailWrap;
            }
        }
        _descriptorsById[id] = descriptors.Length;
        WriteUInt16(Layout.DescriptorArea + ((ulong)first * PackedRing.DescriptorSize) + PackedRing.FlagsOffset, firstFlags);
    }

    /// <summary>Writes one descriptor (all 16 bytes, flags as given) at ring position <paramref name="position"/>.</summary>
    public void WriteRingDescriptor(ushort position, ulong address, uint length, ushort id, ushort flags) =>
        WriteDescriptor(Layout.DescriptorArea + ((ulong)position * PackedRing.DescriptorSize), address, length, id, flags);

    public void WriteDescriptor(ulong at, ulong address, uint length, ushort id, ushort flags)
    {
        Span<byte> raw = stackalloc byte[PackedRing.DescriptorSize];
        BinaryPrimitives.WriteUInt64LittleEndian(raw, address);
        BinaryPrimitives.WriteUInt32LittleEndian(raw[8..], length);
        BinaryPrimitives.WriteUInt16LittleEndian(raw[12..], id);
        BinaryPrimitives.WriteUInt16LittleEndian(raw[14..], flags);
        Memory.Write(new GuestAddress(at), raw);
    }

    public ushort ReadFlags(ushort position) => ReadUInt16(Layout.DescriptorArea + ((ulong)position * PackedRing.DescriptorSize) + PackedRing.FlagsOffset);

    /// <summary>
    /// The next used descriptor if the device wrote one (USED and AVAIL both equal to the driver's used wrap counter),
    /// then skips the buffer's descriptors; null when none is there yet.
    /// </summary>
    public (ushort Id, uint Length, ushort Flags)? TakeUsed()
    {
        ulong at = Layout.DescriptorArea + ((ulong)NextUsed * PackedRing.DescriptorSize);
        var raw = ReadBytes(at, PackedRing.DescriptorSize);
        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(14));
        bool used = (flags & PackedRing.DescriptorUsed) != 0;
        bool avail = (flags & PackedRing.DescriptorAvail) != 0;
        if (used != UsedWrap || avail != UsedWrap)
            return null;
        ushort id = BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(12));
        int skip = _descriptorsById[id];
        _descriptorsById.Remove(id);
        int next = NextUsed + skip;
        if (next >= Size)
        {
            next -= Size;
            UsedWrap = !UsedWrap;
        }
        NextUsed = (ushort)next;
        return (id, BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(8)), flags);
    }

    /// <summary>The driver event suppression structure (read by the device): flags, and off_wrap for DESC.</summary>
    public void SetDriverEvent(ushort flags, ushort offset = 0, bool wrap = false)
    {
        WriteUInt16(Layout.DriverArea + PackedRing.EventOffWrapOffset, (ushort)(offset | (wrap ? PackedRing.EventWrapBit : 0)));
        WriteUInt16(Layout.DriverArea + PackedRing.EventFlagsOffset, flags);
    }

    public ushort DeviceEventFlags
    {
        get => ReadUInt16(Layout.DeviceArea + PackedRing.EventFlagsOffset);
        set => WriteUInt16(Layout.DeviceArea + PackedRing.EventFlagsOffset, value);
    }

    public ushort DeviceEventOffWrap => ReadUInt16(Layout.DeviceArea + PackedRing.EventOffWrapOffset);

    public void WriteUInt16(ulong address, ushort value) => Memory.WriteObject(new GuestAddress(address), value);

    public ushort ReadUInt16(ulong address) => Memory.ReadObject<ushort>(new GuestAddress(address));

    private ushort NextFreeId()
    {
        for (int i = 0; i < Size; i++)
        {
            ushort id = (ushort)((_nextId + i) % Size);
            if (!_descriptorsById.ContainsKey(id))
            {
                _nextId = (ushort)((id + 1) % Size);
                return id;
            }
        }
        throw new InvalidOperationException("every buffer id is outstanding");
    }
}
