using Xunit;
using Ember.Memory;

namespace Ember.Vmm.Tests.Boot;

public class LayoutTests
{
    private const ulong MiB = 1024 * 1024;
    private const ulong GiB = 1024 * MiB;

    [Fact]
    public void RamBelowTheHoleIsOneRegionFromZero()
    {
        var regions = Layout.RamRegions(256 * MiB);

        Assert.Equal([new GuestMemoryRegion(GuestAddress.Zero, 256 * MiB)], regions);
    }

    [Fact]
    public void RamOfExactlyThreeGiBStillFitsBelowTheHole()
    {
        var regions = Layout.RamRegions(3 * GiB);

        Assert.Equal([new GuestMemoryRegion(GuestAddress.Zero, 3 * GiB)], regions);
    }

    [Fact]
    public void RamAboveThreeGiBContinuesAtFourGiB()
    {
        var regions = Layout.RamRegions(5 * GiB);

        Assert.Equal(
            [
                new GuestMemoryRegion(GuestAddress.Zero, 3 * GiB),
                new GuestMemoryRegion(new GuestAddress(4 * GiB), 2 * GiB),
            ],
            regions);
        Assert.Equal(5 * GiB, regions.Sum(r => (decimal)r.Size));
    }

    [Fact]
    public void ZeroOrOverflowingRamSizesAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Layout.RamRegions(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Layout.RamRegions(ulong.MaxValue));
    }

    [Fact]
    public void BootStructuresAreDisjointAndBelowTheLegacyArea()
    {
        (ulong Start, ulong Size, string Name)[] ranges =
        [
            (Layout.BootGdt, 48, "GDT"),
            (Layout.BootInfo, Layout.PageSize, "boot info"),
            (Layout.ZeroPage, Layout.PageSize, "zero page"),
            (Layout.BootStackPointer - 0x800, 0x810, "stack"),
            (Layout.Pml4, Layout.PageSize, "PML4"),
            (Layout.Pdpt, Layout.PageSize, "PDPT"),
            (Layout.PageDirectories, (ulong)Layout.PageDirectoryCount * Layout.PageSize, "PDs"),
            (Layout.CommandLine, Layout.CommandLineMaxSize, "command line"),
        ];

        foreach (var range in ranges)
        {
            Assert.True(range.Start + range.Size <= Layout.EbdaStart, $"{range.Name} runs into the legacy area");
        }
        for (int i = 0; i < ranges.Length; i++)
        {
            for (int j = i + 1; j < ranges.Length; j++)
            {
                bool overlap = ranges[i].Start < ranges[j].Start + ranges[j].Size && ranges[j].Start < ranges[i].Start + ranges[i].Size;
                Assert.False(overlap, $"{ranges[i].Name} overlaps {ranges[j].Name}");
            }
        }
        Assert.Equal(Layout.ZeroPage, Layout.BootMemoryMap + Layout.BootMemoryMapSize);
    }

    [Fact]
    public void MmioDevicesSitInsideTheHoleAndPmRegistersInsideThePmBlock()
    {
        foreach (ulong address in new[] { Layout.BootTimer, Layout.IoApicBase, Layout.LocalApicBase, Layout.TestDeviceMmio })
        {
            Assert.InRange(address, Layout.MmioHoleStart, Layout.MmioHoleEnd - 1);
        }
        Assert.True(Layout.TestDeviceMmio + Layout.TestDeviceMmioSize <= Layout.MmioHoleEnd);
        Assert.True(Layout.Pm1EventBlockOffset + Layout.Pm1EventBlockLength <= Layout.Pm1ControlBlockOffset);
        Assert.True(Layout.Pm1ControlBlockOffset + Layout.Pm1ControlBlockLength <= Layout.PmTimerBlockOffset);
        Assert.True(Layout.PmTimerBlockOffset + Layout.PmTimerBlockLength <= Layout.PmBlockSize);
        Assert.Equal(0, (int)(Layout.Rsdp % 16));
    }
}
