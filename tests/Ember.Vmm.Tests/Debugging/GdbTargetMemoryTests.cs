using Ember.Memory;
using Ember.Vmm.Cpu.Paging;
using Ember.Vmm.Debugging;
using Ember.Vmm.Tests.Cpu.Paging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ember.Vmm.Tests.Debugging;

/// <summary>
/// The GDB stub's memory over hand-built 4-level page tables: two consecutive linear pages mapped far apart and out of
/// order in RAM (the second read-only), then an unmapped page. Reads, writes and int3 patching go where the tables say.
/// </summary>
public sealed class GdbTargetMemoryTests
{
    private const ulong Tables = 0x10_0000, TablesSize = 0x10_0000;
    private const ulong Linear = 0xFFFF_8000_4000_0000;
    private const ulong First = 0x90_0000, Second = 0x30_0000;  // Linear -> First, Linear + 0x1000 -> Second (read-only)
    private const ulong Unmapped = Linear + 0x2000;
    private const ulong OutsideRam = Linear + 0x3000;           // -> 64 MiB, past the 16 MiB of RAM
    private const byte Nop = 0x90;
    private static readonly byte[] Nops = [Nop, Nop, Nop, Nop, Nop, Nop, Nop, Nop];

    private static (ArrayGuestMemory Memory, GdbTargetMemory Target, PageTableMemory Vcpu) Build()
    {
        var memory = ArrayGuestMemory.Create((GuestAddress.Zero, 0x100_0000));
        var tables = new GuestPageTables(memory, PagingMode.FourLevel, Tables, TablesSize);
        tables.Map(Linear, First, 0x1000);
        tables.Map(Linear + 0x1000, Second, 0x1000, GuestPageTables.Present);
        tables.Map(OutsideRam, 0x400_0000, 0x1000);
        var vcpu = new PageTableMemory(PagingStates.For(tables), memory);
        return (memory, new GdbTargetMemory([vcpu], NullLogger.Instance), vcpu);
    }

    private static byte[] Physical(ArrayGuestMemory memory, ulong address, int length)
    {
        var bytes = new byte[length];
        memory.Read(new GuestAddress(address), bytes);
        return bytes;
    }

    [Fact]
    public void ReadsGatherPagesMappedApartAndStopAtTheFirstPageThatCannotBeRead()
    {
        var (memory, target, _) = Build();
        memory.Write(new GuestAddress(First + 0xFFC), "abcd"u8);
        memory.Write(new GuestAddress(Second), "efgh"u8);
        memory.Write(new GuestAddress(Second + 0xFFC), "ijkl"u8);
        var buffer = new byte[8];
        Assert.Equal(8, target.Read(0, Linear + 0xFFC, buffer));
        Assert.Equal("abcdefgh"u8.ToArray(), buffer);
        // Into the unmapped page: the bytes before it (a partial read, as an m reply may be).
        buffer = new byte[8];
        Assert.Equal(4, target.Read(0, Linear + 0x1FFC, buffer));
        Assert.Equal("ijkl"u8.ToArray(), buffer[..4]);
        Assert.Equal(0, target.Read(0, Unmapped, buffer));
        Assert.Equal(0, target.Read(0, OutsideRam, buffer));
        Assert.Equal(0, target.Read(0, 0x0000_8000_0000_0000, buffer));  // not canonical
        Assert.Equal(0, target.Read(0, ulong.MaxValue - 3, buffer));     // would wrap past 2^64
        Assert.True(target.TryReadExactly(0, Linear + 0xFFC, buffer));
        Assert.False(target.TryReadExactly(0, Linear + 0x1FFC, buffer));
    }

    [Fact]
    public void AReadIsCappedAtOneWalkersAccess()
    {
        var (_, target, _) = Build();
        var mapped = new byte[LinearMemory.MaxAccessLength + 1];
        // Only two pages are mapped; the cap is what keeps a huge request from being one unbounded walk.
        Assert.Equal(0x2000, target.Read(0, Linear, mapped));
        Assert.False(target.TryReadExactly(0, Linear, mapped));
    }

    [Fact]
    public void WritesCrossPagesIncludingReadOnlyOnesAndAreAllOrNothing()
    {
        var (memory, target, _) = Build();
        Assert.True(target.Write(0, Linear + 0xFFC, "01234567"u8));
        Assert.Equal("0123"u8.ToArray(), Physical(memory, First + 0xFFC, 4));
        Assert.Equal("4567"u8.ToArray(), Physical(memory, Second, 4));  // read-only for the guest, not for a debugger
        // Across into the unmapped page: refused, and the mapped part untouched.
        Assert.False(target.Write(0, Linear + 0x1FFC, "ABCDEFGH"u8));
        Assert.Equal(new byte[4], Physical(memory, Second + 0xFFC, 4));
        Assert.False(target.Write(0, OutsideRam, "x"u8));
        Assert.False(target.Write(0, Linear, new byte[LinearMemory.MaxAccessLength + 1]));
        Assert.Equal(new byte[4], Physical(memory, First, 4));
    }

    [Fact]
    public void ABreakpointIsPlantedWhereTheAddressMapsHiddenFromReadsKeptUnderWritesAndRestored()
    {
        var (memory, target, _) = Build();
        memory.Write(new GuestAddress(Second), Nops);
        ulong at = Linear + 0x1004;
        Assert.Equal(GdbBreakpointResult.Done, target.InsertSoftwareBreakpoint(0, at));
        Assert.True(target.HasSoftwareBreakpoints);
        Assert.True(target.IsSoftwareBreakpoint(at));
        Assert.False(target.IsSoftwareBreakpoint(Second + 4));  // breakpoints are linear addresses, not physical ones
        Assert.Equal(GdbTargetMemory.Int3, Physical(memory, Second + 4, 1)[0]);
        Assert.Equal(Nop, Physical(memory, Second + 3, 1)[0]);
        // Planting it again changes nothing (its original is still the nop, not the int3).
        Assert.Equal(GdbBreakpointResult.Done, target.InsertSoftwareBreakpoint(0, at));

        var read = new byte[8];
        Assert.Equal(8, target.Read(0, Linear + 0x1000, read));
        Assert.Equal(Nops, read);

        // A write over the planted byte: the int3 stays in memory, the written byte is what comes back on removal.
        byte[] written = [1, 2, 3, 4, 5, 6, 7, 8];
        Assert.True(target.Write(0, Linear + 0xFFE, written));
        Assert.Equal([3, 4, 5, 6, GdbTargetMemory.Int3, 8], Physical(memory, Second, 6));
        Assert.Equal(8, target.Read(0, Linear + 0xFFE, read));
        Assert.Equal(written, read);

        Assert.Equal(GdbBreakpointResult.Done, target.RemoveSoftwareBreakpoint(at));
        Assert.False(target.HasSoftwareBreakpoints);
        Assert.Equal(0x07, Physical(memory, Second + 4, 1)[0]);
        Assert.Equal(GdbBreakpointResult.Done, target.RemoveSoftwareBreakpoint(at));  // not planted: nothing to do
    }

    [Fact]
    public void ABreakpointOnAnUnmappedPageFailsAndADetachRestoresEveryPlantedByte()
    {
        var (memory, target, _) = Build();
        Assert.Equal(GdbBreakpointResult.Failed, target.InsertSoftwareBreakpoint(0, Unmapped));
        Assert.Equal(GdbBreakpointResult.Failed, target.InsertSoftwareBreakpoint(0, OutsideRam));
        Assert.False(target.HasSoftwareBreakpoints);
        memory.Write(new GuestAddress(First + 0x10), [0x55]);
        memory.Write(new GuestAddress(Second + 0x20), [0x66]);
        Assert.Equal(GdbBreakpointResult.Done, target.InsertSoftwareBreakpoint(0, Linear + 0x10));
        Assert.Equal(GdbBreakpointResult.Done, target.InsertSoftwareBreakpoint(0, Linear + 0x1020));
        target.RemoveAllSoftwareBreakpoints();
        Assert.False(target.HasSoftwareBreakpoints);
        Assert.Equal((byte)0x55, Physical(memory, First + 0x10, 1)[0]);
        Assert.Equal((byte)0x66, Physical(memory, Second + 0x20, 1)[0]);
    }

    [Fact]
    public void EachVcpuSeesItsOwnTablesAndABreakpointIsRestoredThroughTheVcpuThatPlantedIt()
    {
        var memory = ArrayGuestMemory.Create((GuestAddress.Zero, 0x100_0000));
        var zero = new GuestPageTables(memory, PagingMode.FourLevel, Tables, 0x8_0000);
        var one = new GuestPageTables(memory, PagingMode.FourLevel, Tables + 0x8_0000, 0x8_0000);
        zero.Map(Linear, First, 0x1000);
        one.Map(Linear, Second, 0x1000);
        var target = new GdbTargetMemory(
            [new PageTableMemory(PagingStates.For(zero), memory), new PageTableMemory(PagingStates.For(one), memory)], NullLogger.Instance);
        memory.Write(new GuestAddress(First), "A"u8);
        memory.Write(new GuestAddress(Second), "B"u8);
        Assert.Equal(GdbBreakpointResult.Done, target.InsertSoftwareBreakpoint(1, Linear));
        Assert.Equal("A"u8.ToArray(), Physical(memory, First, 1));
        Assert.Equal(GdbTargetMemory.Int3, Physical(memory, Second, 1)[0]);
        Assert.Equal(GdbBreakpointResult.Done, target.RemoveSoftwareBreakpoint(Linear));
        Assert.Equal("B"u8.ToArray(), Physical(memory, Second, 1));
        // A vCPU GDB cannot have named: nothing is read or written.
        Assert.Equal(0, target.Read(2, Linear, new byte[1]));
        Assert.False(target.Write(-1, Linear, "x"u8));
    }

    [Fact]
    public void AVcpuThatDoesNotAnswerFailsTheAccessInsteadOfThrowing()
    {
        var (_, target, vcpu) = Build();
        vcpu.Failure = new TimeoutException("vCPU 0 did not stop");
        Assert.Equal(0, target.Read(0, Linear, new byte[4]));
        Assert.False(target.Write(0, Linear, "x"u8));
        Assert.Equal(GdbBreakpointResult.Failed, target.InsertSoftwareBreakpoint(0, Linear));
        vcpu.Failure = new Ember.Kvm.KvmException("KVM_GET_SREGS", 5);  // EIO from the vCPU's paging registers
        Assert.Equal(0, target.Read(0, Linear, new byte[4]));
        Assert.Equal(GdbBreakpointResult.Done, target.RemoveSoftwareBreakpoint(Linear));  // never planted: nothing to restore
        vcpu.Failure = new ObjectDisposedException("vcpu");
        Assert.Equal(0, target.Read(0, Linear, new byte[4]));
        Assert.False(target.Write(0, Linear, "x"u8));
        Assert.Equal(6, vcpu.Accesses);  // each call reached the vCPU and failed there
    }
}
