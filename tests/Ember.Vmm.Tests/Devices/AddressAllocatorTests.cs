using CsCheck;
using Ember.Vmm.Devices;

namespace Ember.Vmm.Tests.Devices;

public sealed class AddressAllocatorTests
{
    [Fact]
    public void AllocatesLowestFirstWithTheAlignmentAsked()
    {
        var mmio = new AddressAllocator("MMIO32", 0xC000_0000, 0x1000_0000);
        Assert.Equal(0xC000_0000UL, mmio.Allocate(0x1000, 0x1000));
        Assert.Equal(0xC001_0000UL, mmio.Allocate(0x4000, 0x1_0000));
        // The hole left below the aligned range is used by a smaller request.
        Assert.Equal(0xC000_1000UL, mmio.Allocate(0x1000, 0x1000));
    }

    [Fact]
    public void NextFreeTellsWhereAllocateWouldGoWithoutTakingIt()
    {
        var slots = new AddressAllocator("slots", 0, 4);
        slots.Reserve(0, 1);
        Assert.Equal(1UL, slots.NextFree(1));
        Assert.Equal(1UL, slots.NextFree(1));
        Assert.Equal(1UL, slots.Allocate(1));
        Assert.Equal(2UL, slots.NextFree(1));
        slots.Allocate(2);
        Assert.Null(slots.NextFree(1));
        Assert.Throws<ResourceExhaustedException>(() => slots.Allocate(1));
    }

    [Fact]
    public void IntersectsSaysWhetherAFixedRangeTouchesTheSpace()
    {
        var pio = new AddressAllocator("PIO", 0x1000, 0xF000);
        Assert.False(pio.Intersects(0x3F8, 8));
        Assert.True(pio.Intersects(0xFF8, 0x10));          // straddles the bottom: Reserve refuses it
        Assert.True(pio.Intersects(0x2000, 24));
        Assert.True(pio.Intersects(0xFFFF, 1));
        Assert.False(pio.Intersects(0x1_0000, 1));
        Assert.True(pio.Intersects(0, ulong.MaxValue));     // no wrap-around in the check
    }

    [Fact]
    public void ReservedRangesAreSkippedAndOverlappingReservationsRefused()
    {
        var pio = new AddressAllocator("PIO", 0xC000, 0x4000);
        pio.Reserve(0xC000, 0x100);
        Assert.Equal(0xC100UL, pio.Allocate(0x40, 0x40));
        var error = Assert.Throws<InvalidOperationException>(() => pio.Reserve(0xC0F0, 0x20));
        Assert.Contains("overlaps 0xc000-0xc0ff", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => pio.Reserve(0xBFFF, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => pio.Reserve(0xFFFF, 2));
    }

    [Fact]
    public void AFreedRangeCanBeHandedOutAgain()
    {
        var space = new AddressAllocator("slots", 0, 4);
        ulong a = space.Allocate(1), b = space.Allocate(1);
        space.Free(a);
        Assert.Equal(a, space.Allocate(1));
        Assert.NotEqual(a, b);
        Assert.Throws<InvalidOperationException>(() => space.Free(3));
    }

    [Fact]
    public void ExhaustionNamesTheSpaceAndTheRequest()
    {
        var space = new AddressAllocator("PCI MMIO32", 0xC000_0000, 0x10_0000);
        space.Allocate(0x8_0000, 0x8_0000);
        var error = Assert.Throws<ResourceExhaustedException>(() => space.Allocate(0x10_0000, 0x10_0000));
        Assert.Contains("PCI MMIO32: no free 0x100000-byte range", error.Message);
    }

    [Fact]
    public void BadSizesAndAlignmentsAreRefusedNotWrapped()
    {
        var top = new AddressAllocator("top", ulong.MaxValue - 0xFFF, 0x1000);
        Assert.Throws<ArgumentOutOfRangeException>(() => top.Allocate(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => top.Allocate(0x10, 3));
        Assert.Throws<ResourceExhaustedException>(() => top.Allocate(0x2000));
        // An alignment beyond the top of the address space cannot be satisfied.
        Assert.Throws<ResourceExhaustedException>(() => top.Allocate(0x10, 1UL << 63));
        Assert.Equal(ulong.MaxValue - 0xFFF, top.Allocate(0x1000));
        Assert.Throws<ResourceExhaustedException>(() => top.Allocate(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AddressAllocator("wraps", ulong.MaxValue - 1, 4));
    }

    [Fact]
    public void AnySequenceOfRequestsGivesDisjointAlignedRangesInsideTheSpace()
    {
        var request = Gen.Select(Gen.ULong[1, 0x4000], Gen.Int[0, 14]);
        Gen.Select(Gen.ULong[0, 0x10_0000], request.Array[1, 40]).Sample((start, requests) =>
        {
            var space = new AddressAllocator("property", start, 0x4_0000);
            var given = new List<(ulong Start, ulong Size)>();
            foreach (var (size, alignmentBits) in requests)
            {
                ulong alignment = 1UL << alignmentBits;
                try
                {
                    ulong at = space.Allocate(size, alignment);
                    Assert.Equal(0UL, at % alignment);
                    Assert.True(at >= start && at + size <= start + 0x4_0000);
                    Assert.DoesNotContain(given, g => g.Start < at + size && at < g.Start + g.Size);
                    given.Add((at, size));
                }
                catch (ResourceExhaustedException)
                {
                    // Allowed only when no aligned gap of that size exists.
                    Assert.False(HasGap(start, 0x4_0000, given, size, alignment), $"refused 0x{size:x}/0x{alignment:x} although a gap exists");
                }
            }
        });
    }

    private static bool HasGap(ulong start, ulong length, List<(ulong Start, ulong Size)> used, ulong size, ulong alignment)
    {
        for (ulong at = (start + alignment - 1) & ~(alignment - 1); at + size <= start + length; at += alignment)
        {
            if (!used.Any(g => g.Start < at + size && at < g.Start + g.Size))
                return true;
        }
        return false;
    }
}
