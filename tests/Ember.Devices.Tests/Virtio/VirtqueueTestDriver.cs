using System.Buffers.Binary;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Queues;
using Ember.Memory;

namespace Ember.Devices.Tests.Virtio;

/// <summary>
/// The driver side of one split virtqueue, for tests: lays the three areas out in an
/// <see cref="ArrayGuestMemory"/>, hands out data buffers, writes descriptors (well-formed or not),
/// publishes chains on the available ring and reads the used ring back.
/// </summary>
public sealed class VirtqueueTestDriver
{
    public const ulong DescriptorArea = 0x1_0000;
    public const ulong RamSize = 0x40_0000;
    private const ulong DataStart = 0x10_0000;

    private readonly ulong _descriptorArea;
    private readonly ulong _dataEnd;
    private ulong _nextData;
    private ushort _nextDescriptor;

    public VirtqueueTestDriver(ushort size = 16, ArrayGuestMemory? memory = null)
        : this(size, memory ?? ArrayGuestMemory.Create((GuestAddress.Zero, RamSize)), DescriptorArea, DataStart, RamSize)
    {
    }

    /// <summary>
    /// A queue placed by the caller, so several can share one memory (a device with more than one queue): its rings
    /// from <paramref name="descriptorArea"/>, its data buffers in [<paramref name="dataStart"/>, <paramref name="dataEnd"/>).
    /// </summary>
    public VirtqueueTestDriver(ushort size, ArrayGuestMemory memory, ulong descriptorArea, ulong dataStart, ulong dataEnd)
    {
        Size = size;
        Memory = memory;
        _descriptorArea = descriptorArea;
        _nextData = dataStart;
        _dataEnd = dataEnd;
        ulong driverArea = descriptorArea + SplitRing.DescriptorAreaSize(size);
        ulong deviceArea = Align(driverArea + SplitRing.DriverAreaSize(size), 4);
        Layout = new VirtqueueLayout(size, descriptorArea, driverArea, deviceArea);
    }

    public ushort Size { get; }

    public ArrayGuestMemory Memory { get; }

    public VirtqueueLayout Layout { get; }

    public ushort AvailIndex { get; set; }

    public const ulong AllFeatures = VirtioFeature.Version1 | VirtioFeature.IndirectDescriptors | VirtioFeature.EventIndex;

    public SplitVirtqueue CreateQueue(ulong features = VirtioFeature.Version1 | VirtioFeature.IndirectDescriptors) =>
        new(Layout, Memory, features);

    /// <summary>A fresh data buffer (16-byte aligned) filled with <paramref name="fill"/>.</summary>
    public ulong Allocate(uint length, byte fill = 0)
    {
        ulong address = _nextData;
        _nextData = Align(_nextData + Math.Max(length, 1), 16);
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

    public void WriteDescriptor(ulong table, int index, ulong address, uint length, ushort flags, ushort next)
    {
        Span<byte> raw = stackalloc byte[SplitRing.DescriptorSize];
        BinaryPrimitives.WriteUInt64LittleEndian(raw, address);
        BinaryPrimitives.WriteUInt32LittleEndian(raw[8..], length);
        BinaryPrimitives.WriteUInt16LittleEndian(raw[12..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(raw[14..], next);
        Memory.Write(new GuestAddress(table + ((ulong)index * SplitRing.DescriptorSize)), raw);
    }

    public void WriteDescriptor(int index, ulong address, uint length, ushort flags, ushort next) =>
        WriteDescriptor(_descriptorArea, index, address, length, flags, next);

    /// <summary>Writes <paramref name="buffers"/> as a chain in free descriptors and makes it available; returns the head.</summary>
    public ushort Post(params TestBuffer[] buffers)
    {
        ushort head = WriteChain(buffers);
        Publish(head);
        return head;
    }

    /// <summary>Writes the chain without publishing it; returns the head.</summary>
    public ushort WriteChain(params TestBuffer[] buffers)
    {
        if (buffers.Length == 0 || buffers.Length > Size)
            throw new ArgumentException("a chain needs 1..Size buffers", nameof(buffers));
        var indices = new ushort[buffers.Length];
        for (int i = 0; i < indices.Length; i++)
            indices[i] = (ushort)(_nextDescriptor++ % Size);
        for (int i = 0; i < buffers.Length; i++)
        {
            bool last = i == buffers.Length - 1;
            ushort flags = (ushort)((buffers[i].Writable ? SplitRing.DescriptorWrite : 0) | (last ? 0 : SplitRing.DescriptorNext));
            WriteDescriptor(indices[i], buffers[i].Address, buffers[i].Length, flags, last ? (ushort)0 : indices[i + 1]);
        }
        return indices[0];
    }

    /// <summary>Writes <paramref name="buffers"/> as an indirect table (entries chained 0, 1, 2, ...) behind one descriptor and posts it.</summary>
    public ushort PostIndirect(params TestBuffer[] buffers)
    {
        ulong table = Allocate((uint)(buffers.Length * SplitRing.DescriptorSize));
        for (int i = 0; i < buffers.Length; i++)
        {
            bool last = i == buffers.Length - 1;
            ushort flags = (ushort)((buffers[i].Writable ? SplitRing.DescriptorWrite : 0) | (last ? 0 : SplitRing.DescriptorNext));
            WriteDescriptor(table, i, buffers[i].Address, buffers[i].Length, flags, last ? (ushort)0 : (ushort)(i + 1));
        }
        ushort head = (ushort)(_nextDescriptor++ % Size);
        WriteDescriptor(head, table, (uint)(buffers.Length * SplitRing.DescriptorSize), SplitRing.DescriptorIndirect, 0);
        Publish(head);
        return head;
    }

    /// <summary>Puts <paramref name="head"/> in the next available ring slot, then bumps avail idx.</summary>
    public void Publish(ushort head)
    {
        WriteUInt16(Layout.DriverArea + SplitRing.AvailRingOffset + (2UL * (ushort)(AvailIndex % Size)), head);
        AvailIndex++;
        WriteAvailIndexRaw(AvailIndex);
    }

    public void WriteAvailIndexRaw(ushort value) => WriteUInt16(Layout.DriverArea + SplitRing.AvailIndexOffset, value);

    public ushort AvailFlags
    {
        set => WriteUInt16(Layout.DriverArea + SplitRing.AvailFlagsOffset, value);
    }

    public ushort UsedEvent
    {
        set => WriteUInt16(Layout.DriverArea + SplitRing.UsedEventOffset(Size), value);
    }

    public ushort AvailEvent => ReadUInt16(Layout.DeviceArea + SplitRing.AvailEventOffset(Size));

    public ushort UsedIndex => ReadUInt16(Layout.DeviceArea + SplitRing.UsedIndexOffset);

    /// <summary>The used element for free-running used index <paramref name="usedIndex"/>.</summary>
    public (uint Id, uint Length) Used(ushort usedIndex)
    {
        ulong slot = Layout.DeviceArea + SplitRing.UsedRingOffset + ((ulong)SplitRing.UsedElementSize * (ushort)(usedIndex % Size));
        var raw = ReadBytes(slot, SplitRing.UsedElementSize);
        return (BinaryPrimitives.ReadUInt32LittleEndian(raw), BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(4)));
    }

    public void WriteUInt16(ulong address, ushort value) => Memory.WriteObject(new GuestAddress(address), value);

    public ushort ReadUInt16(ulong address) => Memory.ReadObject<ushort>(new GuestAddress(address));

    private static ulong Align(ulong value, ulong alignment) => (value + alignment - 1) & ~(alignment - 1);
}
