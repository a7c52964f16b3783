using Xunit;
using Ember.Memory;
using Ember.Vmm.Boot;

namespace Ember.Vmm.Tests.Boot;

public class E820MapTests
{
    private const ulong MiB = 1024 * 1024;
    private const ulong GiB = 1024 * MiB;

    [Fact]
    public void SmallGuestHasConventionalRamTheReservedLegacyAreaAndRamFromOneMiB()
    {
        var map = E820Map.ForRam(Layout.RamRegions(256 * MiB));

        Assert.Equal(
            [
                new E820Entry(0, 0x9FC00, E820Type.Ram),
                new E820Entry(0x9FC00, 0x100000 - 0x9FC00, E820Type.Reserved),
                new E820Entry(0x100000, 256 * MiB - 0x100000, E820Type.Ram),
            ],
            map.Entries);
    }

    [Fact]
    public void LargeGuestHasRamBelowTheHoleAndAboveFourGiB()
    {
        var map = E820Map.ForRam(Layout.RamRegions(6 * GiB));

        Assert.Equal(
            [
                new E820Entry(0, 0x9FC00, E820Type.Ram),
                new E820Entry(0x9FC00, 0x100000 - 0x9FC00, E820Type.Reserved),
                new E820Entry(0x100000, 3 * GiB - 0x100000, E820Type.Ram),
                new E820Entry(4 * GiB, 3 * GiB, E820Type.Ram),
            ],
            map.Entries);
        // The MMIO hole is not RAM.
        Assert.DoesNotContain(map.Entries, e => e.Type == E820Type.Ram && e.Address < 4 * GiB && e.End > 3 * GiB);
    }

    [Fact]
    public void OverlappingEntriesAreRejected()
    {
        Assert.Throws<ArgumentException>(() => new E820Map(
        [
            new E820Entry(0, 0x2000, E820Type.Ram),
            new E820Entry(0x1000, 0x1000, E820Type.Reserved),
        ]));
    }

    [Fact]
    public void EntriesAreSortedAndEmptyOnesDropped()
    {
        var map = new E820Map(
        [
            new E820Entry(0x5000, 0x1000, E820Type.Ram),
            new E820Entry(0x9000, 0, E820Type.Ram),
            new E820Entry(0x1000, 0x1000, E820Type.Acpi),
        ]);

        Assert.Equal([0x1000UL, 0x5000UL], map.Entries.Select(e => e.Address));
    }

    [Fact]
    public void RamSplitIntoContiguousRegionsStillCutsOutTheLegacyArea()
    {
        var map = E820Map.ForRam(
        [
            new GuestMemoryRegion(GuestAddress.Zero, 0xA0000),
            new GuestMemoryRegion(new GuestAddress(0xA0000), 64 * MiB - 0xA0000),
        ]);

        Assert.Contains(new E820Entry(0, 0x9FC00, E820Type.Ram), map.Entries);
        Assert.Contains(new E820Entry(0x100000, 64 * MiB - 0x100000, E820Type.Ram), map.Entries);
        Assert.DoesNotContain(map.Entries, e => e.Type == E820Type.Ram && e.Address < 0x100000 && e.End > 0x9FC00);
    }
}
