using Ember.Memory;
using Ember.Vmm.Cpu.Paging;

namespace Ember.Vmm.Tests.Cpu.Paging;

/// <summary>The software page walker against page tables built by hand in array-backed guest memory, one paging mode at a time.</summary>
public sealed class PageWalkerTests
{
    private const ulong Tables = 0x10_0000, TablesSize = 0x10_0000;
    private const ulong HighRam = 0x1_0000_0000;

    /// <summary>16 MiB of low RAM (tables at 1 MiB) and 4 MiB above 4 GiB, for PSE-36 and physical addresses past 32 bits.</summary>
    private static ArrayGuestMemory NewMemory() => ArrayGuestMemory.Create((GuestAddress.Zero, 0x100_0000), (new GuestAddress(HighRam), 0x40_0000));

    private static PageTranslation Walk(PagingState state, IGuestMemory memory, ulong linear)
    {
        Assert.True(PageWalker.TryWalk(state, memory, linear, out var translation, out var fault), fault.ToString());
        return translation;
    }

    private static PageFault Fault(PagingState state, IGuestMemory memory, ulong linear, PageAccess? access = null)
    {
        Assert.False(PageWalker.TryTranslate(state, memory, linear, access ?? PageAccess.SupervisorRead, out var translation, out var fault),
            $"expected a fault, got {translation}");
        Assert.Equal(linear, fault.LinearAddress);
        return fault;
    }

    [Fact]
    public void WithoutPagingTheLinearAddressIsThePhysicalOneUpTo4GiB()
    {
        var memory = NewMemory();
        var state = PagingStates.For(PagingMode.Disabled, 0);
        var translation = Walk(state, memory, 0xFFFF_F123);
        Assert.Equal(0xFFFF_F123UL, translation.PhysicalAddress);
        Assert.Null(translation.Leaf);
        Assert.True(PageWalker.TryTranslate(state, memory, 0x1234, PageAccess.UserWrite, out _, out _));
        var fault = Fault(state, memory, 0x1_0000_0000);
        Assert.Equal(PageFaultReason.OutsideLinearAddressSpace, fault.Reason);
        Assert.Null(fault.Level);
        // Real mode (CR0.PE clear) is the same.
        Assert.Equal(0xB8000UL, Walk(new PagingState(0, 0, 0, 0), memory, 0xB8000).PhysicalAddress);
    }

    [Fact]
    public void ThirtyTwoBitPagingMaps4KiBAnd4MiBPages()
    {
        var memory = NewMemory();
        var tables = new GuestPageTables(memory, PagingMode.ThirtyTwoBit, Tables, TablesSize);
        tables.Map(0xC012_3000, 0x0045_6000, 0x1000);
        tables.Map(0x8040_0000, 0x0080_0000, 0x40_0000);
        var state = PagingStates.For(tables);

        var small = Walk(state, memory, 0xC012_3ABC);
        Assert.Equal(0x45_6ABCUL, small.PhysicalAddress);
        Assert.Equal(0x1000UL, small.PageSize);
        Assert.Equal(PagingLevel.Pte, small.Leaf!.Value.Level);

        var large = Walk(state, memory, 0x807F_FFFF);
        Assert.Equal(0xBF_FFFFUL, large.PhysicalAddress);
        Assert.Equal(0x40_0000UL, large.PageSize);
        Assert.Equal(PagingLevel.Pde, large.Leaf!.Value.Level);

        var missingTable = Fault(state, memory, 0x1000);
        Assert.Equal((PageFaultReason.NotPresent, PagingLevel.Pde), (missingTable.Reason, missingTable.Level));
        Assert.Equal(Tables + 0, missingTable.Entry!.Value.Address);
        var missingPage = Fault(state, memory, 0xC012_4000);
        Assert.Equal((PageFaultReason.NotPresent, PagingLevel.Pte), (missingPage.Reason, missingPage.Level));
        Assert.Equal("linear 0xc0124000: PTE at 0x101490 is not present (0x0)", missingPage.ToString());
        Assert.Equal(PageFaultReason.OutsideLinearAddressSpace, Fault(state, memory, 0x1_C012_3000).Reason);
    }

    [Fact]
    public void WithoutCr4PseThePsBitOfA32BitPdeIsIgnoredAndThePdePointsAtATable()
    {
        var memory = NewMemory();
        var tables = new GuestPageTables(memory, PagingMode.ThirtyTwoBit, Tables, TablesSize);
        tables.Map(0x0040_0000, 0x0080_0000, 0x40_0000);
        var noPse = PagingStates.For(tables) with { Cr4 = 0 };
        // The PDE's frame (0x800000) is now read as a page table: all zero, so the PTE is not present.
        var fault = Fault(noPse, memory, 0x0040_5000);
        Assert.Equal((PageFaultReason.NotPresent, PagingLevel.Pte), (fault.Reason, fault.Level));
        Assert.Equal(0x80_0000UL + 5 * 4, fault.Entry!.Value.Address);
    }

    [Fact]
    public void A4MiBPageReachesPast4GiBThroughPse36AndItsReservedBitsFault()
    {
        var memory = NewMemory();
        var tables = new GuestPageTables(memory, PagingMode.ThirtyTwoBit, Tables, TablesSize);
        tables.Map(0x0040_0000, HighRam, 0x40_0000);
        var state = PagingStates.For(tables);
        Assert.Equal(HighRam + 0x1234, Walk(state, memory, 0x0040_1234).PhysicalAddress);

        // Bit 21 is always reserved in a 4 MiB PDE.
        ulong pde = tables.GetEntry(0x0040_0000, PagingLevel.Pde);
        tables.SetEntry(0x0040_0000, PagingLevel.Pde, pde | (1UL << 21));
        var fault = Fault(state, memory, 0x0040_1234);
        Assert.Equal((PageFaultReason.ReservedBitSet, PagingLevel.Pde), (fault.Reason, fault.Level));

        // With MAXPHYADDR 36, PDE bits 20:17 (physical bits 39:36) are reserved too; bit 13 (physical bit 32) is not.
        tables.SetEntry(0x0040_0000, PagingLevel.Pde, pde | (1UL << 17));
        var narrow = state with { Features = new PagingCpuFeatures(36, true) };
        Assert.Equal(PageFaultReason.ReservedBitSet, Fault(narrow, memory, 0x0040_1234).Reason);
        Assert.Equal((1UL << 36) | HighRam | 0x1234, Walk(state, memory, 0x0040_1234).PhysicalAddress);
    }

    [Fact]
    public void PaePagingWalksFourPdptesThenMaps4KiBAnd2MiBPages()
    {
        var memory = NewMemory();
        var tables = new GuestPageTables(memory, PagingMode.Pae, Tables, TablesSize);
        tables.Map(0xFFE0_1000, 0x0030_2000, 0x1000);
        tables.Map(0x4060_0000, 0x00A0_0000, 0x20_0000);
        var state = PagingStates.For(tables);

        Assert.Equal(0x30_2FFFUL, Walk(state, memory, 0xFFE0_1FFF).PhysicalAddress);
        var large = Walk(state, memory, 0x407F_0001);
        Assert.Equal((0xBF_0001UL, 0x20_0000UL), (large.PhysicalAddress, large.PageSize));

        var noPdpte = Fault(state, memory, 0x8000_0000);
        Assert.Equal((PageFaultReason.NotPresent, PagingLevel.Pdpte), (noPdpte.Reason, noPdpte.Level));
        Assert.Equal(Tables + 2 * 8, noPdpte.Entry!.Value.Address);
        Assert.Equal(PageFaultReason.OutsideLinearAddressSpace, Fault(state, memory, 0x1_0000_0000).Reason);
    }

    [Fact]
    public void PaePdptesHaveNoRightsBitsAndTheirReservedBitsFault()
    {
        var memory = NewMemory();
        var tables = new GuestPageTables(memory, PagingMode.Pae, Tables, TablesSize);
        tables.Map(0x1000, 0x2000, 0x1000, GuestPageTables.Present);  // read-only, supervisor
        var state = PagingStates.For(tables);
        var translation = Walk(state, memory, 0x1000);
        // The PDPTE has neither R/W nor U/S and takes no right away; the PTE does.
        Assert.Equal(PagingLevel.Pte, translation.SupervisorEntry!.Value.Level);
        Assert.Equal(PagingLevel.Pte, translation.ReadOnlyEntry!.Value.Level);
        Assert.Equal(PagingLevel.Pte, Fault(state, memory, 0x1000, PageAccess.SupervisorWrite).Level);
        Assert.True(PageWalker.TryTranslate(state, memory, 0x1000, PageAccess.SupervisorRead, out _, out _));

        ulong pdpte = tables.GetEntry(0x1000, PagingLevel.Pdpte);
        foreach (int bit in new[] { 1, 2, 5, 8, 63, 52 })
        {
            tables.SetEntry(0x1000, PagingLevel.Pdpte, pdpte | (1UL << bit));
            var fault = Fault(state, memory, 0x1000);
            Assert.Equal((PageFaultReason.ReservedBitSet, PagingLevel.Pdpte), (fault.Reason, fault.Level));
        }
    }

    [Fact]
    public void PaeWalksFromThePdpteRegistersWhenTheyAreKnownNotFromTheTableInMemory()
    {
        var memory = NewMemory();
        var tables = new GuestPageTables(memory, PagingMode.Pae, Tables, TablesSize);
        tables.Map(0x1000, 0x2000, 0x1000);
        ulong loaded = tables.GetEntry(0x1000, PagingLevel.Pdpte);
        // The guest clears PDPTE 0 in memory after the CPU loaded it: the CPU still uses the loaded value.
        tables.SetEntry(0x1000, PagingLevel.Pdpte, 0);
        var fromMemory = PagingStates.For(tables);
        Assert.Equal(PageFaultReason.NotPresent, Fault(fromMemory, memory, 0x1000).Reason);
        var fromRegisters = fromMemory with { PaePdptes = new PaePdpteRegisters(loaded, 0, 0, 0) };
        Assert.Equal(0x2000UL, Walk(fromRegisters, memory, 0x1000).PhysicalAddress);
        var fault = Fault(fromRegisters, memory, 0x4000_0000);
        Assert.Equal((PageFaultReason.NotPresent, PagingLevel.Pdpte), (fault.Reason, fault.Level));
        // With the registers known, a PDPT outside RAM does not matter.
        var elsewhere = fromRegisters with { Cr3 = 0xFFFF_0000 };
        Assert.Equal(0x2000UL, Walk(elsewhere, memory, 0x1000).PhysicalAddress);
    }

    [Theory]
    [InlineData(PagingMode.FourLevel)]
    [InlineData(PagingMode.FiveLevel)]
    public void LongModePagingMaps4KiB2MiBAnd1GiBPagesInTheUpperHalf(PagingMode mode)
    {
        var memory = NewMemory();
        var tables = new GuestPageTables(memory, mode, Tables, TablesSize);
        ulong upper = mode == PagingMode.FiveLevel ? 0xFF80_0000_0000_0000 : 0xFFFF_8000_0000_0000;
        tables.Map(upper + 0x7000, 0x30_0000, 0x1000);
        tables.Map(upper + 0x4000_0000 + 0x20_0000, HighRam + 0x20_0000, 0x20_0000);
        tables.Map(upper + 0x80_0000_0000, 0, 0x4000_0000);
        var state = PagingStates.For(tables);

        Assert.Equal(0x30_0123UL, Walk(state, memory, upper + 0x7123).PhysicalAddress);
        var twoMiB = Walk(state, memory, upper + 0x4000_0000 + 0x3F_FFFF);
        Assert.Equal((HighRam + 0x3F_FFFF, 0x20_0000UL, PagingLevel.Pde), (twoMiB.PhysicalAddress, twoMiB.PageSize, twoMiB.Leaf!.Value.Level));
        var oneGiB = Walk(state, memory, upper + 0x80_3FFF_FFFF);
        Assert.Equal((0x3FFF_FFFFUL, 0x4000_0000UL, PagingLevel.Pdpte), (oneGiB.PhysicalAddress, oneGiB.PageSize, oneGiB.Leaf!.Value.Level));

        var top = Fault(state, memory, 0x1000);
        Assert.Equal(mode == PagingMode.FiveLevel ? PagingLevel.Pml5e : PagingLevel.Pml4e, top.Level);
        Assert.Equal(PageFaultReason.NotPresent, top.Reason);
        var fault = Fault(state, memory, upper + 0x8000);
        Assert.Equal((PageFaultReason.NotPresent, PagingLevel.Pte), (fault.Reason, fault.Level));
    }

    [Fact]
    public void CanonicalAddressesDependOnTheNumberOfLevels()
    {
        var memory = NewMemory();
        var five = new GuestPageTables(memory, PagingMode.FiveLevel, Tables, TablesSize);
        const ulong beyond48Bits = 0x0001_0000_0000_0000;  // canonical with 57 bits, not with 48
        five.Map(beyond48Bits, 0x5000, 0x1000);
        Assert.Equal(0x5000UL, Walk(PagingStates.For(five), memory, beyond48Bits).PhysicalAddress);

        var fourState = PagingStates.For(PagingMode.FourLevel, five.Root);
        var fault = Fault(fourState, memory, beyond48Bits);
        Assert.Equal(PageFaultReason.NonCanonical, fault.Reason);
        Assert.Null(fault.Level);
        Assert.Equal(PageFaultReason.NonCanonical, Fault(fourState, memory, 0x0000_8000_0000_0000).Reason);
        Assert.Equal(PageFaultReason.NonCanonical, Fault(PagingStates.For(five), memory, 0x0100_0000_0000_0000).Reason);
        Assert.Equal(PageFaultReason.NonCanonical, Fault(fourState, memory, 0xFFFF_7FFF_FFFF_FFFF).Reason);
    }

    [Fact]
    public void LongModeReservedBitsFaultAtTheirLevel()
    {
        var memory = NewMemory();
        var tables = new GuestPageTables(memory, PagingMode.FourLevel, Tables, TablesSize);
        const ulong small = 0x1000, large = 0x20_0000, huge = 0x4000_0000;
        tables.Map(small, 0x5000, 0x1000);
        tables.Map(large, 0x40_0000, 0x20_0000);
        tables.Map(huge, 0, 0x4000_0000);
        var state = PagingStates.For(tables) with { Features = new PagingCpuFeatures(40, true) };

        void Expect(ulong linear, PagingLevel level, ulong setBits, PagingState? inState = null)
        {
            ulong before = tables.GetEntry(linear, level);
            tables.SetEntry(linear, level, before | setBits);
            var fault = Fault(inState ?? state, memory, linear);
            Assert.Equal((PageFaultReason.ReservedBitSet, level), (fault.Reason, fault.Level));
            Assert.Equal(before | setBits, fault.Entry!.Value.Value);
            tables.SetEntry(linear, level, before);
            Assert.True(PageWalker.TryWalk(state, memory, linear, out _, out _));
        }

        Expect(small, PagingLevel.Pml4e, PagingBits.PageSize);
        Expect(small, PagingLevel.Pml4e, 1UL << 40);           // above MAXPHYADDR
        Expect(small, PagingLevel.Pte, 1UL << 51);
        Expect(large, PagingLevel.Pde, 1UL << 13);             // 2 MiB pages: bits 20:13
        Expect(huge, PagingLevel.Pdpte, 1UL << 29);            // 1 GiB pages: bits 29:13
        Expect(huge, PagingLevel.Pdpte, 0, state with { Features = new PagingCpuFeatures(40, false) });  // PS where 1 GiB pages do not exist
        Expect(small, PagingLevel.Pde, PagingBits.ExecuteDisable, state with { Efer = state.Efer & ~PagingBits.EferNoExecuteEnable });

        // Bits 62:52 are ignored (software bits, protection keys), not reserved.
        tables.SetEntry(small, PagingLevel.Pte, tables.GetEntry(small, PagingLevel.Pte) | (0x7FFUL << 52));
        Assert.Equal(0x5000UL, Walk(state, memory, small).PhysicalAddress);
    }

    [Fact]
    public void ATableOutsideGuestRamIsAFaultAtTheLevelThatCannotBeReadNeverAnException()
    {
        var memory = NewMemory();
        var tables = new GuestPageTables(memory, PagingMode.FourLevel, Tables, TablesSize);
        tables.Map(0x1000, 0x5000, 0x1000);
        var state = PagingStates.For(tables);

        var rootOutside = state with { Cr3 = 0x8000_0000 };
        var fault = Fault(rootOutside, memory, 0x1000);
        Assert.Equal((PageFaultReason.TableOutsideRam, PagingLevel.Pml4e, 0x8000_0000UL), (fault.Reason, fault.Level, fault.PhysicalAddress));

        // The PDE points at a page table in the hole between low and high RAM; and at one past the top of a 52-bit space.
        ulong pde = tables.GetEntry(0x1000, PagingLevel.Pde);
        tables.SetEntry(0x1000, PagingLevel.Pde, (pde & 0xFFF) | 0x2000_0000);
        fault = Fault(state, memory, 0x1000);
        Assert.Equal((PageFaultReason.TableOutsideRam, PagingLevel.Pte, 0x2000_0008UL), (fault.Reason, fault.Level, fault.PhysicalAddress));
        Assert.Equal("linear 0x1000: PTE at 0x20000008 lies outside guest RAM", fault.ToString());
        tables.SetEntry(0x1000, PagingLevel.Pde, (pde & 0xFFF) | 0x000F_FFFF_FFFF_F000);
        Assert.Equal(PageFaultReason.TableOutsideRam, Fault(state, memory, 0x1FF8).Reason);

        // 32-bit paging with CR3 at the last page below 4 GiB: no RAM there either.
        var high = PagingStates.For(PagingMode.ThirtyTwoBit, 0xFFFF_F000);
        Assert.Equal((PageFaultReason.TableOutsideRam, PagingLevel.Pde), (Fault(high, memory, 0xFFFF_FFFF).Reason, Fault(high, memory, 0xFFFF_FFFF).Level));
    }
}
