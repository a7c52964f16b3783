using Ember.Vmm.Debugging;

namespace Ember.Vmm.Tests.Debugging;

public sealed class DebugRegisterSlotsTests
{
    [Fact]
    public void EachSlotGetsItsEnableTypeAndLengthInDr7()
    {
        var slots = new DebugRegisterSlots();
        Assert.Equal(0UL, slots.Dr7);
        Assert.True(slots.TryInsert(GdbBreakpointType.Hardware, 0x10_0242, 1));
        Assert.True(slots.TryInsert(GdbBreakpointType.WriteWatchpoint, 0x3000, 4));
        Assert.True(slots.TryInsert(GdbBreakpointType.AccessWatchpoint, 0x4000, 8));
        Assert.True(slots.TryInsert(GdbBreakpointType.ReadWatchpoint, 0x5001, 1));
        Assert.Equal([0x10_0242UL, 0x3000UL, 0x4000UL, 0x5001UL], Enumerable.Range(0, 4).Select(slots.Address));
        ulong dr7 = slots.Dr7;
        Assert.Equal(0b01_01_01_01UL, dr7 & 0xFF);                  // L0-L3
        Assert.Equal(0b00_00UL, dr7 >> 16 & 0xF);                    // slot 0: execute, 1 byte
        Assert.Equal(0b11_01UL, dr7 >> 20 & 0xF);                    // slot 1: write, 4 bytes
        Assert.Equal(0b10_11UL, dr7 >> 24 & 0xF);                    // slot 2: read/write, 8 bytes
        Assert.Equal(0b00_11UL, dr7 >> 28 & 0xF);                    // slot 3: read/write (for a read), 1 byte
        Assert.Equal(0x400UL, dr7 & 0x400);
        Assert.False(slots.TryInsert(GdbBreakpointType.Hardware, 0x10_0000, 1));
    }

    [Fact]
    public void ASoftwareBreakpointKeptInASlotIsAnExecuteBreakpointRemovedByItsOwnType()
    {
        var slots = new DebugRegisterSlots();
        // gdb sends Z0 with the breakpoint kind (1 on x86) as the length; an execute slot watches one byte whatever it says.
        Assert.True(slots.TryInsert(GdbBreakpointType.Software, 0x10_000c, 1));
        Assert.True(slots.TryInsert(GdbBreakpointType.Hardware, 0x10_0020, 1));
        Assert.Equal(0x10_000cUL, slots.Address(0));
        Assert.Equal(0b0101UL, slots.Dr7 & 0xF);
        Assert.Equal(0UL, slots.Dr7 >> 16 & 0xFF);                   // both: execute, 1 byte
        Assert.False(slots.Remove(GdbBreakpointType.Hardware, 0x10_000c, 1));
        Assert.True(slots.Remove(GdbBreakpointType.Software, 0x10_000c, 1));
        Assert.Equal(0UL, slots.Address(0));
        Assert.Equal(0x10_0020UL, slots.Address(1));
    }

    [Fact]
    public void AnUnalignedRangeTakesAlignedUnitsAllOrNothing()
    {
        var slots = new DebugRegisterSlots();
        // 0x1003..0x100C: 1 byte at 3, 4 at 4, 4 at 8, 1 at 0xC.
        Assert.True(slots.TryInsert(GdbBreakpointType.WriteWatchpoint, 0x1003, 10));
        Assert.Equal([0x1003UL, 0x1004UL, 0x1008UL, 0x100CUL], Enumerable.Range(0, 4).Select(slots.Address));
        Assert.Equal((GdbBreakpointType.WriteWatchpoint, 0x1003UL), slots.Hit(0b0100));
        Assert.True(slots.Remove(GdbBreakpointType.WriteWatchpoint, 0x1003, 10));
        Assert.True(slots.IsEmpty);
        Assert.True(slots.TryInsert(GdbBreakpointType.Hardware, 0x2000, 1));
        Assert.False(slots.TryInsert(GdbBreakpointType.WriteWatchpoint, 0x1003, 10));
        Assert.Equal(0UL, slots.Address(1));
        Assert.False(slots.TryInsert(GdbBreakpointType.WriteWatchpoint, 0x1000, 0));
        Assert.False(slots.TryInsert(GdbBreakpointType.WriteWatchpoint, ulong.MaxValue, 2));
    }

    [Fact]
    public void Dr6NamesTheSlotThatFiredAndOnlySlotsInUseCount()
    {
        var slots = new DebugRegisterSlots();
        slots.TryInsert(GdbBreakpointType.Hardware, 0x10_0000, 1);
        slots.TryInsert(GdbBreakpointType.WriteWatchpoint, 0x3000, 8);
        Assert.Equal((GdbBreakpointType.Hardware, 0x10_0000UL), slots.Hit(0xFFFF_0FF1));
        Assert.Equal((GdbBreakpointType.WriteWatchpoint, 0x3000UL), slots.Hit(0xFFFF_0FF2));
        Assert.Null(slots.Hit(0xFFFF_4FF0));  // a single step
        Assert.Null(slots.Hit(0b1000));        // slot 3 is free
        Assert.False(slots.Remove(GdbBreakpointType.WriteWatchpoint, 0x3000, 4));
        Assert.True(slots.Remove(GdbBreakpointType.Hardware, 0x10_0000, 1));
        Assert.Null(slots.Hit(0b0001));
    }
}
