using CsCheck;
using Ember.Memory;
using Ember.Vmm.Cpu.Paging;

namespace Ember.Vmm.Tests.Cpu.Paging;

/// <summary>
/// Random page tables in every paging mode: the walker must agree with the builder's list of what it mapped, for
/// addresses in, at the edges of and outside the mapped pages; and random bytes as page tables must never make it throw.
/// </summary>
public sealed class PageWalkerPropertyTests
{
    private const ulong TableArea = 0x1000, TableAreaSize = 0x1F_F000;

    /// <summary>One page to map: which page size (an index into the mode's sizes), where, to where, with which rights.</summary>
    private readonly record struct PageRequest(int SizeIndex, ulong Linear, ulong Physical, bool Writable, bool User, bool NoExecute);

    private static readonly Gen<PageRequest> RequestGen =
        Gen.Select(Gen.Int[0, 2], Gen.ULong, Gen.ULong, Gen.Bool, Gen.Bool, Gen.Bool,
            (size, linear, physical, writable, user, noExecute) => new PageRequest(size, linear, physical, writable, user, noExecute));

    public static TheoryData<PagingMode> PagedModes => [PagingMode.ThirtyTwoBit, PagingMode.Pae, PagingMode.FourLevel, PagingMode.FiveLevel];

    [Theory]
    [MemberData(nameof(PagedModes))]
    public void TheWalkerAgreesWithWhatWasMapped(PagingMode mode)
    {
        Gen.Select(RequestGen.Array[1, 30], Gen.ULong.Array[40], Gen.Int.Array[40]).Sample((requests, probes, offsets) =>
        {
            var memory = ArrayGuestMemory.Create((GuestAddress.Zero, 0x20_0000));
            var tables = new GuestPageTables(memory, mode, TableArea, TableAreaSize);
            foreach (var request in requests)
            {
                ulong size = tables.PageSizes[request.SizeIndex % tables.PageSizes.Count];
                ulong flags = GuestPageTables.Present
                    | (request.Writable ? GuestPageTables.Writable : 0)
                    | (request.User ? GuestPageTables.User : 0)
                    | (request.NoExecute && mode != PagingMode.ThirtyTwoBit ? PagingBits.ExecuteDisable : 0);
                tables.TryMap(Canonical(mode, request.Linear) & ~(size - 1), PhysicalFor(mode, size, request.Physical), size, flags);
            }
            var state = PagingStates.For(tables);
            for (int i = 0; i < probes.Length; i++)
            {
                // Half the probes land in a mapped page (often at its first or last byte), the rest anywhere.
                var mapping = tables.Mappings[(int)(probes[i] % (ulong)tables.Mappings.Count)];
                ulong linear = (offsets[i] & 3) switch
                {
                    0 => mapping.Linear,
                    1 => mapping.Linear + mapping.Size - 1,
                    2 => mapping.Linear + (probes[i] >> 8) % mapping.Size,
                    _ => Canonical(mode, probes[i]),
                };
                CheckAgainstModel(state, memory, tables, linear);
                CheckAgainstModel(state, memory, tables, Canonical(mode, linear + mapping.Size));
            }
        }, iter: 150);
    }

    private static void CheckAgainstModel(PagingState state, IGuestMemory memory, GuestPageTables tables, ulong linear)
    {
        bool walked = PageWalker.TryWalk(state, memory, linear, out var translation, out var fault);
        if (tables.Find(linear) is not { } mapping)
        {
            Assert.False(walked, $"0x{linear:x} was never mapped but walks to {translation}");
            Assert.Equal(PageFaultReason.NotPresent, fault.Reason);
            return;
        }
        Assert.True(walked, $"0x{linear:x} in {mapping}: {fault}");
        Assert.Equal(mapping.Physical + (linear - mapping.Linear), translation.PhysicalAddress);
        Assert.Equal(mapping.Size, translation.PageSize);
        Assert.Equal(tables.LeafLevel(mapping.Size), translation.Leaf!.Value.Level);
        Assert.Equal((mapping.Flags & GuestPageTables.Writable) != 0, translation.Writable);
        Assert.Equal((mapping.Flags & GuestPageTables.User) != 0, translation.UserAccessible);
        Assert.Equal((mapping.Flags & PagingBits.ExecuteDisable) == 0, translation.Executable);
        // The rights check agrees with the flags (CR0.WP set, no SMEP/SMAP).
        Assert.Equal(translation.UserAccessible && translation.Writable, PageWalker.CheckAccess(state, translation, PageAccess.UserWrite, out _));
        Assert.Equal(translation.Writable, PageWalker.CheckAccess(state, translation, PageAccess.SupervisorWrite, out _));
        Assert.Equal(translation.Executable, PageWalker.CheckAccess(state, translation, PageAccess.SupervisorExecute, out _));
        Assert.True(PageWalker.CheckAccess(state, translation, PageAccess.SupervisorRead, out _));
    }

    /// <summary>A linear address the mode can translate: 32 bits outside long mode, sign-extended from bit 47 or 56 in it.</summary>
    private static ulong Canonical(PagingMode mode, ulong value) => mode switch
    {
        PagingMode.FourLevel => (ulong)((long)(value << 16) >> 16),
        PagingMode.FiveLevel => (ulong)((long)(value << 7) >> 7),
        _ => value & 0xFFFF_FFFF,
    };

    /// <summary>A physical page the mode can map: below 4 GiB for 32-bit 4 KiB pages, 40 bits for PSE-36, 52 bits with 64-bit entries.</summary>
    private static ulong PhysicalFor(PagingMode mode, ulong size, ulong value)
    {
        int bits = mode != PagingMode.ThirtyTwoBit ? 52 : size == 0x1000 ? 32 : 40;
        return value & ((1UL << bits) - 1) & ~(size - 1);
    }

    [Fact]
    public void RandomBytesAsPageTablesNeverThrow()
    {
        Gen.Select(Gen.Byte.Array[0x4000], Gen.ULong.Array[4], Gen.ULong.Array[8], Gen.Int[0, 4]).Sample((ram, registers, linears, pdpteMode) =>
        {
            var memory = ArrayGuestMemory.Create((GuestAddress.Zero, 0x4000));
            memory.Write(GuestAddress.Zero, ram);
            var state = new PagingState(registers[0], registers[1] & 0x3FFF, registers[2], registers[3])
            {
                Rflags = registers[0] >> 7,
                Features = new PagingCpuFeatures(32 + (int)(registers[1] >> 59), (registers[2] & 1) != 0),
                PaePdptes = pdpteMode == 0 ? new PaePdpteRegisters(linears[0], linears[1], linears[2], linears[3]) : null,
            };
            var buffer = new byte[0x1800];
            foreach (ulong linear in linears)
            {
                foreach (var access in new[] { PageAccess.SupervisorRead, PageAccess.UserWrite, PageAccess.SupervisorExecute, PageAccess.DebuggerWrite })
                {
                    if (PageWalker.TryTranslate(state, memory, linear, access, out var translation, out var fault))
                        Assert.Equal(linear & (translation.PageSize - 1), translation.PhysicalAddress & (translation.PageSize - 1));
                    else
                        Assert.Equal(linear, fault.LinearAddress);
                    LinearMemory.TryRead(state, memory, linear, buffer, access, out int read, out _);
                    Assert.InRange(read, 0, buffer.Length);
                    LinearMemory.TryWrite(state, memory, linear, buffer.AsSpan(0, (int)(linear % 0x1800)), access, out _);
                }
            }
        }, iter: 300);
    }
}
