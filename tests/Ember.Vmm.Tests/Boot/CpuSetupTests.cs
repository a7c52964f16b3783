using Xunit;
using Ember.Vmm.Boot;
using Ember.Vmm.Tests.Fakes;

namespace Ember.Vmm.Tests.Boot;

public class CpuSetupTests
{
    [Fact]
    public void DescriptorsPackToTheCanonicalFlatEncodings()
    {
        Assert.Equal(0x00AF_9B00_0000_FFFFUL, SegmentDescriptor.FlatCode64(0x10).ToGdtEntry());
        Assert.Equal(0x00CF_9B00_0000_FFFFUL, SegmentDescriptor.FlatCode32(0x10).ToGdtEntry());
        Assert.Equal(0x00CF_9300_0000_FFFFUL, SegmentDescriptor.FlatData(0x18).ToGdtEntry());
        Assert.Equal(0x0000_8B00_0000_0067UL, SegmentDescriptor.BusyTss(0x20).ToGdtEntry());
    }

    [Fact]
    public void DescriptorBaseIsSplitAcrossItsThreeFields()
    {
        var segment = SegmentDescriptor.FlatData(0x18) with { Base = 0x1234_5678_9ABC_DEF0 };

        Assert.Equal(0x9A00_0000_0000_0000UL, segment.ToGdtEntry() & 0xFF00_0000_0000_0000UL);
        Assert.Equal(0x0000_00BC_DEF0_0000UL, segment.ToGdtEntry() & 0x0000_00FF_FFFF_0000UL);
        Assert.Equal(0x1234_5678UL, segment.ToGdtEntryHigh());
    }

    [Fact]
    public void LongModeIdentityMapsTheFirstFourGiBWithTwoMiBPages()
    {
        var memory = ByteArrayGuestMemory.WithLayout(64 << 20);

        var state = LongModeSetup.Write(memory);

        Assert.Equal(Layout.Pml4, state.Cr3);
        Assert.Equal(Layout.Pdpt | 0x3, memory.ReadUInt64(Layout.Pml4));
        Assert.Equal(0UL, memory.ReadUInt64(Layout.Pml4 + 8));
        for (ulong i = 0; i < 4; i++)
        {
            Assert.Equal((Layout.PageDirectories + i * 0x1000) | 0x3, memory.ReadUInt64(Layout.Pdpt + i * 8));
        }
        Assert.Equal(0UL, memory.ReadUInt64(Layout.Pdpt + 4 * 8));
        Assert.Equal(0x83UL, memory.ReadUInt64(Layout.PageDirectories));
        Assert.Equal(0x20_0083UL, memory.ReadUInt64(Layout.PageDirectories + 8));
        Assert.Equal(0x4000_0083UL, memory.ReadUInt64(Layout.PageDirectories + 0x1000));
        Assert.Equal(0xFFE0_0083UL, memory.ReadUInt64(Layout.PageDirectories + 0x3000 + 511 * 8));
    }

    [Fact]
    public void LongModeStateEnablesPagingPaeAndLongMode()
    {
        var memory = ByteArrayGuestMemory.WithLayout(64 << 20);

        var state = LongModeSetup.Write(memory);

        Assert.Equal(0x8000_0011UL, state.Cr0);           // PG | ET | PE
        Assert.Equal(0x20UL, state.Cr4);                  // PAE
        Assert.Equal(0x500UL, state.Efer);                // LMA | LME
        Assert.True(state.Code.Long);
        Assert.False(state.Code.DefaultBig);
        Assert.Equal(new DescriptorTableRegister(Layout.BootGdt, 47), state.Gdt);
        Assert.Equal(0x00AF_9B00_0000_FFFFUL, memory.ReadUInt64(Layout.BootGdt + 0x10));
        Assert.Equal(0x00CF_9300_0000_FFFFUL, memory.ReadUInt64(Layout.BootGdt + 0x18));
        Assert.Equal(0x0000_8B00_0000_0067UL, memory.ReadUInt64(Layout.BootGdt + 0x20));
        Assert.Equal(0UL, memory.ReadUInt64(Layout.BootGdt + 0x28));
        Assert.Equal(0UL, memory.ReadUInt64(Layout.BootGdt));
    }

    [Fact]
    public void ProtectedModeHasPagingOffAndAFlat32BitCodeSegment()
    {
        var memory = ByteArrayGuestMemory.WithLayout(64 << 20);

        var state = ProtectedModeSetup.Write(memory);

        Assert.Equal(0x11UL, state.Cr0);
        Assert.Equal(0UL, state.Cr3);
        Assert.Equal(0UL, state.Cr4);
        Assert.Equal(0UL, state.Efer);
        Assert.Equal((ushort)0x10, state.Code.Selector);
        Assert.Equal((ushort)0x18, state.Data.Selector);
        Assert.Equal(0x67U, state.Task.Limit);
        Assert.Equal(0x00CF_9B00_0000_FFFFUL, memory.ReadUInt64(Layout.BootGdt + 0x10));
        Assert.Equal(1, memory.AllocatedPages); // only the GDT page: no page tables
    }
}
