using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Ember.Memory.Tests;

/// <summary>
/// The behaviour every <see cref="IGuestMemory"/> implementation must have; run once per
/// implementation by the derived classes.
/// </summary>
public abstract class GuestMemoryContractTests : IDisposable
{
    /// <summary>Two contiguous regions, a hole, one more region, and nothing below 0x1000.</summary>
    private static readonly (GuestAddress, ulong)[] StandardLayout =
    [
        (new GuestAddress(0x1000), 0x2000),
        (new GuestAddress(0x3000), 0x1000),
        (new GuestAddress(0x8000), 0x1000),
    ];

    /// <summary>The last page of RAM a layout can have: ends at 2^64 - 0x1000.</summary>
    private static readonly GuestAddress TopPage = new(0xFFFF_FFFF_FFFF_E000);

    private readonly List<IDisposable> _created = [];

    protected abstract IGuestMemory CreateCore(params (GuestAddress Start, ulong Size)[] regions);

    private IGuestMemory Create(params (GuestAddress Start, ulong Size)[] regions)
    {
        var memory = CreateCore(regions);
        if (memory is IDisposable disposable)
        {
            _created.Add(disposable);
        }
        return memory;
    }

    private IGuestMemory CreateStandard() => Create(StandardLayout);

    public void Dispose()
    {
        foreach (var d in _created)
        {
            d.Dispose();
        }
        GC.SuppressFinalize(this);
    }

    private static byte[] Pattern(int length, byte seed)
    {
        var data = new byte[length];
        for (int i = 0; i < length; i++)
        {
            data[i] = (byte)(seed + (i * 7));
        }
        return data;
    }

    [Fact]
    public void FreshMemoryReadsAsZero()
    {
        var memory = CreateStandard();
        var buffer = Pattern(0x100, 1);
        memory.Read(new GuestAddress(0x1F80), buffer);
        Assert.All(buffer, b => Assert.Equal(0, b));
    }

    [Fact]
    public void WriteThenReadRoundTripsWithinRegion()
    {
        var memory = CreateStandard();
        var data = Pattern(0x80, 3);
        memory.Write(new GuestAddress(0x1234), data);

        var back = new byte[data.Length];
        memory.Read(new GuestAddress(0x1234), back);
        Assert.Equal(data, back);

        // The bytes around the written range are untouched.
        var edges = new byte[2];
        memory.Read(new GuestAddress(0x1233), edges.AsSpan(0, 1));
        memory.Read(new GuestAddress(0x1234 + 0x80), edges.AsSpan(1, 1));
        Assert.Equal(new byte[2], edges);
    }

    [Fact]
    public void AWindowAliasesTheRangeItWasGivenFor()
    {
        var memory = CreateStandard();
        Assert.True(memory.TryGetMemory(new GuestAddress(0x1F00), 0x100, out var window));
        Assert.Equal(0x100, window.Length);

        // Written through the window, seen by the copying accessors, and the other way round.
        Pattern(0x100, 6).CopyTo(window.Span);
        var back = new byte[0x100];
        memory.Read(new GuestAddress(0x1F00), back);
        Assert.Equal(Pattern(0x100, 6), back);
        memory.Write(new GuestAddress(0x1F10), Pattern(4, 40));
        Assert.Equal(Pattern(4, 40), window.Span.Slice(0x10, 4).ToArray());
    }

    [Fact]
    public void NoWindowForARangeOutsideOneRegion()
    {
        var memory = CreateStandard();
        // Across the contiguous boundary at 0x3000 (the copying accessors cross it, a window cannot), into the hole at
        // 0x4000, wholly in the hole, below RAM, of no length, and past the top of the address space.
        Assert.False(memory.TryGetMemory(new GuestAddress(0x2FF0), 0x20, out var window));
        Assert.True(window.IsEmpty);
        Assert.False(memory.TryGetMemory(new GuestAddress(0x3FF0), 0x20, out _));
        Assert.False(memory.TryGetMemory(new GuestAddress(0x5000), 0x10, out _));
        Assert.False(memory.TryGetMemory(new GuestAddress(0x0), 0x10, out _));
        Assert.False(memory.TryGetMemory(new GuestAddress(0x1000), 0, out _));
        Assert.False(memory.TryGetMemory(new GuestAddress(0x1000), -1, out _));
        Assert.False(memory.TryGetMemory(new GuestAddress(ulong.MaxValue - 4), 0x10, out _));
        // The last bytes of a region are fine.
        Assert.True(memory.TryGetMemory(new GuestAddress(0x2FF0), 0x10, out _));
    }

    [Fact]
    public void WriteAndReadCrossContiguousRegions()
    {
        var memory = CreateStandard();
        var data = Pattern(0x40, 9);
        // 0x2FE0..0x3020 spans the boundary at 0x3000 between the first two regions.
        Assert.True(memory.TryWrite(new GuestAddress(0x2FE0), data));

        var back = new byte[data.Length];
        Assert.True(memory.TryRead(new GuestAddress(0x2FE0), back));
        Assert.Equal(data, back);

        // Each half landed in its own region at the right place.
        var secondHalf = new byte[0x20];
        memory.Read(new GuestAddress(0x3000), secondHalf);
        Assert.Equal(data[0x20..], secondHalf);
        Assert.Equal(data[0], memory.ReadObject<byte>(new GuestAddress(0x2FE0)));
    }

    [Fact]
    public void ReadCanSpanAllContiguousRegionsAtOnce()
    {
        var memory = CreateStandard();
        var data = Pattern(0x3000, 5);
        memory.Write(new GuestAddress(0x1000), data);
        var back = new byte[0x3000];
        memory.Read(new GuestAddress(0x1000), back);
        Assert.Equal(data, back);
    }

    [Fact]
    public void ReadTouchingHoleFailsAndLeavesDestinationUntouched()
    {
        var memory = CreateStandard();
        memory.Write(new GuestAddress(0x3F00), Pattern(0x100, 2));
        var destination = Pattern(0x200, 77);
        var original = destination.ToArray();

        // 0x3F00..0x4100 starts in RAM and runs into the hole at 0x4000.
        Assert.False(memory.TryRead(new GuestAddress(0x3F00), destination));
        Assert.Equal(original, destination);
        Assert.Throws<GuestMemoryException>(() => memory.Read(new GuestAddress(0x3F00), destination));
        Assert.Equal(original, destination);
    }

    [Fact]
    public void WriteTouchingHoleFailsWithoutPartialWrite()
    {
        var memory = CreateStandard();
        var data = Pattern(0x200, 4);

        Assert.False(memory.TryWrite(new GuestAddress(0x3F00), data));
        Assert.Throws<GuestMemoryException>(() => memory.Write(new GuestAddress(0x3F00), data));

        // The part that was inside RAM must not have been written.
        var inside = new byte[0x100];
        memory.Read(new GuestAddress(0x3F00), inside);
        Assert.Equal(new byte[0x100], inside);
    }

    [Fact]
    public void AccessesStartingInHoleOrOutsideRamFail()
    {
        var memory = CreateStandard();
        var buffer = new byte[4];
        Assert.False(memory.TryRead(new GuestAddress(0x0), buffer));        // below the first region
        Assert.False(memory.TryRead(new GuestAddress(0xFFE), buffer));      // runs from below into the first region
        Assert.False(memory.TryRead(new GuestAddress(0x5000), buffer));     // in the hole
        Assert.False(memory.TryRead(new GuestAddress(0x7FFE), buffer));     // from the hole into the last region
        Assert.False(memory.TryRead(new GuestAddress(0x8FFE), buffer));     // past the end of the last region
        Assert.False(memory.TryWrite(new GuestAddress(0x9000), buffer));    // just past the end
        Assert.False(memory.TryWrite(new GuestAddress(ulong.MaxValue), buffer));
    }

    [Fact]
    public void IsValidRangeIsExactAtBoundaries()
    {
        var memory = CreateStandard();
        Assert.True(memory.IsValidRange(new GuestAddress(0x1000), 0x3000));   // all contiguous RAM
        Assert.False(memory.IsValidRange(new GuestAddress(0x1000), 0x3001));  // one byte into the hole
        Assert.True(memory.IsValidRange(new GuestAddress(0x3FFF), 1));
        Assert.False(memory.IsValidRange(new GuestAddress(0x4000), 1));
        Assert.False(memory.IsValidRange(new GuestAddress(0xFFF), 1));
        Assert.True(memory.IsValidRange(new GuestAddress(0x8000), 0x1000));
        Assert.False(memory.IsValidRange(new GuestAddress(0x8000), 0x1001));
        // Contiguity is required, not just both ends being in RAM.
        Assert.False(memory.IsValidRange(new GuestAddress(0x3FFF), 0x8000 - 0x3FFF + 1));
    }

    [Fact]
    public void AddressPlusLengthOverflowIsRejected()
    {
        var memory = Create((GuestAddress.Zero, 0x1000), (TopPage, 0x1000));
        ulong lastByte = TopPage.Value + 0xFFF;

        Assert.True(memory.IsValidRange(new GuestAddress(lastByte), 1));
        Assert.False(memory.IsValidRange(new GuestAddress(lastByte), 2));
        // Lengths whose sum with the address wraps past 2^64 back into low RAM.
        Assert.False(memory.IsValidRange(new GuestAddress(lastByte), ulong.MaxValue));
        Assert.False(memory.IsValidRange(new GuestAddress(TopPage.Value), ulong.MaxValue - TopPage.Value + 2));
        Assert.False(memory.IsValidRange(GuestAddress.Zero, ulong.MaxValue));
        Assert.False(memory.TryRead(new GuestAddress(ulong.MaxValue - 1), new byte[4]));
        Assert.False(memory.TryWrite(new GuestAddress(ulong.MaxValue - 1), new byte[4]));
        Assert.Throws<GuestMemoryException>(() => memory.ReadObject<ulong>(new GuestAddress(ulong.MaxValue - 3)));
        Assert.Throws<GuestMemoryException>(() => memory.GetSpan(new GuestAddress(ulong.MaxValue), 16));
    }

    [Fact]
    public void TopPageOfAddressSpaceIsUsable()
    {
        var memory = Create((TopPage, 0x1000));
        var data = Pattern(0x10, 8);
        memory.Write(new GuestAddress(TopPage.Value + 0xFF0), data);
        var back = new byte[0x10];
        memory.Read(new GuestAddress(TopPage.Value + 0xFF0), back);
        Assert.Equal(data, back);
    }

    [Fact]
    public void ZeroLengthAccessesSucceedAnywhere()
    {
        var memory = CreateStandard();
        Assert.True(memory.IsValidRange(new GuestAddress(0x5000), 0));
        Assert.True(memory.TryRead(new GuestAddress(ulong.MaxValue), Span<byte>.Empty));
        Assert.True(memory.TryWrite(new GuestAddress(0x5000), ReadOnlySpan<byte>.Empty));
        Assert.True(memory.GetSpan(new GuestAddress(0x5000), 0).IsEmpty);
    }

    [Fact]
    public void GetSpanAliasesGuestMemory()
    {
        var memory = CreateStandard();
        var span = memory.GetSpan(new GuestAddress(0x8010), 0x20);
        Assert.Equal(0x20, span.Length);
        span[0] = 0xAB;
        span[^1] = 0xCD;
        Assert.Equal(0xAB, memory.ReadObject<byte>(new GuestAddress(0x8010)));
        Assert.Equal(0xCD, memory.ReadObject<byte>(new GuestAddress(0x802F)));

        memory.WriteObject(new GuestAddress(0x8018), (byte)0x5A);
        Assert.Equal(0x5A, span[8]);
    }

    [Fact]
    public void GetSpanUpToRegionEndSucceeds()
    {
        var memory = CreateStandard();
        Assert.Equal(0x2000, memory.GetSpan(new GuestAddress(0x1000), 0x2000).Length);
        Assert.Equal(1, memory.GetSpan(new GuestAddress(0x2FFF), 1).Length);
    }

    [Fact]
    public void GetSpanAcrossRegionsThrowsEvenWhenContiguous()
    {
        var memory = CreateStandard();
        Assert.True(memory.IsValidRange(new GuestAddress(0x2FF0), 0x20));
        Assert.Throws<GuestMemoryException>(() => memory.GetSpan(new GuestAddress(0x2FF0), 0x20));
    }

    [Fact]
    public void GetSpanOutsideRamOrNegativeThrows()
    {
        var memory = CreateStandard();
        Assert.Throws<GuestMemoryException>(() => memory.GetSpan(new GuestAddress(0x5000), 1));
        Assert.Throws<GuestMemoryException>(() => memory.GetSpan(new GuestAddress(0x8FFF), 2));
        Assert.Throws<GuestMemoryException>(() => memory.GetSpan(new GuestAddress(0x8000), -1));
    }

    [Fact]
    public void WriteObjectThenReadObjectRoundTripsAtUnalignedAddress()
    {
        var memory = CreateStandard();
        var descriptor = new SampleDescriptor { Address = 0x1122_3344_5566_7788, Length = 0x99AA_BBCC, Flags = 0xDDEE, Next = 0x0F01 };
        var at = new GuestAddress(0x1003);

        memory.WriteObject(at, descriptor);
        Assert.Equal(descriptor, memory.ReadObject<SampleDescriptor>(at));

        // The guest sees the little-endian byte image, field by field.
        var image = new byte[Marshal.SizeOf<SampleDescriptor>()];
        memory.Read(at, image);
        Assert.Equal(16, image.Length);
        Assert.Equal(descriptor.Address, BinaryPrimitives.ReadUInt64LittleEndian(image));
        Assert.Equal(descriptor.Length, BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(8)));
        Assert.Equal(descriptor.Flags, BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(12)));
        Assert.Equal(descriptor.Next, BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(14)));
    }

    [Fact]
    public void ObjectsCrossContiguousRegions()
    {
        var memory = CreateStandard();
        var at = new GuestAddress(0x2FFD);
        memory.WriteObject(at, 0x0102_0304_0506_0708UL);
        Assert.Equal(0x0102_0304_0506_0708UL, memory.ReadObject<ulong>(at));
        // Little-endian: bytes 08 07 06 sit below 0x3000, so 05 is the first byte of the second region.
        Assert.Equal(0x05u, memory.ReadObject<byte>(new GuestAddress(0x3000)));
    }

    [Fact]
    public void ObjectsTouchingHoleThrow()
    {
        var memory = CreateStandard();
        Assert.Throws<GuestMemoryException>(() => memory.WriteObject(new GuestAddress(0x3FFD), 1UL));
        Assert.Throws<GuestMemoryException>(() => memory.ReadObject<SampleDescriptor>(new GuestAddress(0x3FF8)));
        Assert.Equal(0UL, memory.ReadObject<ulong>(new GuestAddress(0x3FF8)));
    }

    [Fact]
    public void RegionsAreSortedAndSizeIsTheirSum()
    {
        var memory = Create((new GuestAddress(0x10_0000), 0x2000), (GuestAddress.Zero, 0x1000), (new GuestAddress(0x1000), 0x3000));
        Assert.Equal(
            [new GuestMemoryRegion(GuestAddress.Zero, 0x1000), new GuestMemoryRegion(new GuestAddress(0x1000), 0x3000), new GuestMemoryRegion(new GuestAddress(0x10_0000), 0x2000)],
            memory.Regions);
        Assert.Equal(0x6000UL, memory.Size);
        Assert.True(memory.IsValidRange(new GuestAddress(0xFF0), 0x20));
    }

    [Fact]
    public void RegionsCannotBeMutatedThroughTheList()
    {
        var memory = CreateStandard();
        var list = Assert.IsAssignableFrom<IList<GuestMemoryRegion>>(memory.Regions);
        Assert.Throws<NotSupportedException>(() => list[0] = new GuestMemoryRegion(GuestAddress.Zero, 0x10_0000));
    }

    public static TheoryData<string, (GuestAddress, ulong)[]> InvalidLayouts => new()
    {
        { "empty list", [] },
        { "empty region", [(GuestAddress.Zero, 0x1000), (new GuestAddress(0x2000), 0)] },
        { "unaligned start", [(new GuestAddress(0x800), 0x1000)] },
        { "unaligned size", [(GuestAddress.Zero, 0x1800)] },
        { "end wraps past 2^64", [(new GuestAddress(0xFFFF_FFFF_FFFF_F000), 0x2000)] },
        { "end exactly 2^64", [(new GuestAddress(0xFFFF_FFFF_FFFF_F000), 0x1000)] },
        { "partial overlap", [(GuestAddress.Zero, 0x2000), (new GuestAddress(0x1000), 0x2000)] },
        { "contained overlap", [(GuestAddress.Zero, 0x10000), (new GuestAddress(0x4000), 0x1000)] },
        { "duplicate", [(new GuestAddress(0x1000), 0x1000), (new GuestAddress(0x1000), 0x1000)] },
        { "overlap given out of order", [(new GuestAddress(0x3000), 0x1000), (GuestAddress.Zero, 0x4000)] },
    };

    [Theory]
    [MemberData(nameof(InvalidLayouts))]
    public void InvalidRegionListsAreRejected(string why, (GuestAddress, ulong)[] layout)
    {
        Assert.NotEmpty(why);
        Assert.ThrowsAny<ArgumentException>(() => Create(layout));
    }
}
