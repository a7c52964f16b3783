using Ember.Memory;
using Ember.Vmm.Cpu.Paging;

namespace Ember.Vmm.Tests.Cpu.Paging;

/// <summary>Reads and writes at linear addresses that cross pages mapped far apart, stop at faults, and respect the length cap.</summary>
public sealed class LinearMemoryTests
{
    private const ulong Tables = 0x10_0000, TablesSize = 0x10_0000;
    private const ulong Linear = 0xFFFF_8000_1240_0000;

    /// <summary>Three consecutive linear pages: the first two land far apart and backwards in RAM, the third in a hole; then a 2 MiB page.</summary>
    private static (ArrayGuestMemory Memory, PagingState State, GuestPageTables Tables) Build()
    {
        var memory = ArrayGuestMemory.Create((GuestAddress.Zero, 0x100_0000));
        var tables = new GuestPageTables(memory, PagingMode.FourLevel, Tables, TablesSize);
        tables.Map(Linear, 0x90_0000, 0x1000);
        tables.Map(Linear + 0x1000, 0x30_0000, 0x1000, GuestPageTables.Present);  // read-only
        tables.Map(Linear + 0x2000, 0x4000_0000, 0x1000);                          // not RAM
        tables.Map(Linear + 0x20_0000, 0x60_0000, 0x20_0000);
        return (memory, PagingStates.For(tables), tables);
    }

    [Fact]
    public void AReadAcrossAPageBoundaryGathersEachPageFromWhereItIsMapped()
    {
        var (memory, state, _) = Build();
        memory.Write(new GuestAddress(0x90_0FFD), "abc"u8);
        memory.Write(new GuestAddress(0x30_0000), "defg"u8);
        var buffer = new byte[7];
        Assert.True(LinearMemory.TryRead(state, memory, Linear + 0xFFD, buffer, PageAccess.SupervisorRead, out int read, out _));
        Assert.Equal(7, read);
        Assert.Equal("abcdefg"u8.ToArray(), buffer);
    }

    [Fact]
    public void AReadThatRunsIntoAPageOutsideRamReturnsThePagesBeforeItAndNamesTheFault()
    {
        var (memory, state, _) = Build();
        memory.Write(new GuestAddress(0x30_0FFE), "hi"u8);
        var buffer = new byte[4];
        Assert.False(LinearMemory.TryRead(state, memory, Linear + 0x1FFE, buffer, PageAccess.SupervisorRead, out int read, out var fault));
        Assert.Equal(2, read);
        Assert.Equal("hi"u8.ToArray(), buffer[..2]);
        Assert.Equal((PageFaultReason.PageOutsideRam, Linear + 0x2000, 0x4000_0000UL), (fault.Reason, fault.LinearAddress, fault.PhysicalAddress));
        Assert.Equal(PagingLevel.Pte, fault.Level);

        // Over three pages: the first two are read, the third is the hole.
        Assert.False(LinearMemory.TryRead(state, memory, Linear + 0xFFF, new byte[0x1002], PageAccess.SupervisorRead, out read, out fault));
        Assert.Equal((0x1001, PageFaultReason.PageOutsideRam), (read, fault.Reason));
        // An unmapped page: no entry, nothing read, even for a debugger.
        Assert.False(LinearMemory.TryRead(state, memory, Linear + 0x3000, new byte[2], PageAccess.DebuggerRead, out read, out fault));
        Assert.Equal((0, PageFaultReason.NotPresent, PagingLevel.Pte), (read, fault.Reason, fault.Level));
    }

    [Fact]
    public void AWriteIsAllOrNothingAndChecksEveryPage()
    {
        var (memory, state, _) = Build();
        // Across the writable page into the read-only one: refused, and the first page is untouched.
        Assert.False(LinearMemory.TryWrite(state, memory, Linear + 0xFFE, "wxyz"u8, PageAccess.SupervisorWrite, out var fault));
        Assert.Equal((PageFaultReason.WriteToReadOnly, Linear + 0x1000, PagingLevel.Pte), (fault.Reason, fault.LinearAddress, fault.Level));
        Assert.Equal(0, memory.ReadObject<ushort>(new GuestAddress(0x90_0FFE)));
        // A debugger may write it (a breakpoint in read-only text).
        Assert.True(LinearMemory.TryWrite(state, memory, Linear + 0xFFE, "wxyz"u8, PageAccess.DebuggerWrite, out _));
        Assert.Equal("wx"u8.ToArray(), memory.GetSpan(new GuestAddress(0x90_0FFE), 2).ToArray());
        Assert.Equal("yz"u8.ToArray(), memory.GetSpan(new GuestAddress(0x30_0000), 2).ToArray());
        // Into the page outside RAM: nothing written.
        Assert.False(LinearMemory.TryWrite(state, memory, Linear + 0x1FFF, "12"u8, PageAccess.DebuggerWrite, out fault));
        Assert.Equal(PageFaultReason.PageOutsideRam, fault.Reason);
        Assert.Equal((byte)'z', memory.GetSpan(new GuestAddress(0x30_0001), 1)[0]);
        Assert.Equal(0, memory.GetSpan(new GuestAddress(0x30_0FFF), 1)[0]);
    }

    [Fact]
    public void AnAccessInsideALargePageCrossesIts4KiBBoundariesAndStopsAtItsEnd()
    {
        var (memory, state, _) = Build();
        var data = Enumerable.Range(0, LinearMemory.MaxAccessLength).Select(i => (byte)(i * 7)).ToArray();
        ulong start = Linear + 0x20_0000 + 0x1_0800;
        Assert.True(LinearMemory.TryWrite(state, memory, start, data, PageAccess.SupervisorWrite, out _));
        Assert.Equal(data, memory.GetSpan(new GuestAddress(0x61_0800), data.Length).ToArray());
        var back = new byte[data.Length];
        Assert.True(LinearMemory.TryRead(state, memory, start, back, PageAccess.UserRead, out _, out _));
        Assert.Equal(data, back);
        // The next 2 MiB is not mapped: a read over the end gets the last page only.
        Assert.False(LinearMemory.TryRead(state, memory, Linear + 0x40_0000 - 0x1000, new byte[0x2000], PageAccess.SupervisorRead, out int read, out var fault));
        Assert.Equal((0x1000, PageFaultReason.NotPresent, PagingLevel.Pde), (read, fault.Reason, fault.Level));
    }

    [Fact]
    public void ARequestOverTheCapIsRefusedBeforeAnyWalk()
    {
        var (memory, state, _) = Build();
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            LinearMemory.TryRead(state, memory, Linear, new byte[LinearMemory.MaxAccessLength + 1], PageAccess.SupervisorRead, out _, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            LinearMemory.TryWrite(state, memory, Linear, new byte[LinearMemory.MaxAccessLength + 1], PageAccess.SupervisorWrite, out _));
    }

    [Fact]
    public void AnAccessNeverWrapsAroundTheTopOfTheAddressSpace()
    {
        // RAM at 0 and in the last page below 4 GiB: with paging off, 0xFFFFFFFF + 1 is outside the 32-bit linear space, not address 0.
        var memory = ArrayGuestMemory.Create((GuestAddress.Zero, 0x10_0000), (new GuestAddress(0xFFFF_F000), 0x1000));
        var flat = PagingStates.For(PagingMode.Disabled, 0);
        Assert.False(LinearMemory.TryRead(flat, memory, 0xFFFF_FFFF, new byte[2], PageAccess.SupervisorRead, out int read, out var fault));
        Assert.Equal((1, PageFaultReason.OutsideLinearAddressSpace, 0x1_0000_0000UL), (read, fault.Reason, fault.LinearAddress));
        Assert.False(LinearMemory.TryWrite(flat, memory, 0xFFFF_FFFF, "ab"u8, PageAccess.DebuggerWrite, out fault));
        Assert.Equal(PageFaultReason.OutsideLinearAddressSpace, fault.Reason);
        Assert.Equal(0, memory.GetSpan(new GuestAddress(0xFFFF_FFFF), 1)[0]);

        var tables = new GuestPageTables(memory, PagingMode.FourLevel, 0x1_0000, 0x1_0000);
        tables.Map(0xFFFF_FFFF_FFFF_F000, 0x5000, 0x1000);
        var state = PagingStates.For(tables);
        Assert.False(LinearMemory.TryRead(state, memory, ulong.MaxValue, new byte[2], PageAccess.SupervisorRead, out read, out fault));
        Assert.Equal((1, PageFaultReason.OutsideLinearAddressSpace, 0UL), (read, fault.Reason, fault.LinearAddress));
    }
}
